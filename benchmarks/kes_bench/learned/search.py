"""Search a KES preset on the search model (digits-a) only; the learned benchmark then judges it on digits-b.

Data kept apart: the search samples digits-a with its own noise seed (``SEARCH_SEED``), never the
benchmark's, and never touches digits-b, whose model, split and seeds differ.

What is searched: the shape between Karras's ends, as the exact-problem search does and for its reasons
(``kes_bench.search``): the Exponential weight's logits at the first and the last step (l0, l1) and rho,
with the start at sigma_max, no ramps and no sharpening. The cells are the aim's: euler and dpmpp_2m at
10 and 20 steps, at the guided scale. For each cell r_F and r_O are a candidate's FID and ODE error over
Karras rho 7's on the same noise, and a its class accuracy minus Karras's; the objective (lower is
better) is

    J = mean over the cells of (log r_F + log r_O) / 2
      + mean over the cells of max(0, log r - log 0.9) for both r       (push both below the aim)
      + 20 x max(0, -mean a / 100)                                      (no lower class accuracy)

with a in percentage points.

Method: seeded random candidates in the box (rho log-uniform) plus the Karras-like point, in parallel,
then Nelder-Mead from the best one for a fixed number of evaluations.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .. import report
from ..schedules import karras, kes, shape_of
from ..search import (KARRAS_LIKE, SEARCHED, config_values, nelder_mead, refinement_starts, to_params, to_unit,
                      validation_problem)
from .benchmark import GUIDED_SCALE, SUMMARY_SAMPLERS, SUMMARY_STEPS, cell_name
from .evaluation import ModelEvaluator
from .models import load
from .training import SEARCH_MODEL

SEARCH_SEED = 777
BATCH, QUICK_BATCH = 256, 64
CANDIDATES, QUICK_CANDIDATES = 40, 4
REFINE, QUICK_REFINE = 30, 4
AIM = 0.9
ACCURACY_WEIGHT = 20.0
CELLS = [(sampler, steps) for sampler in SUMMARY_SAMPLERS for steps in SUMMARY_STEPS]


class CandidateScorer:
    """digits-a at the guided scale with the search noise (the held-out model only to judge a pick); Karras's
    rows computed once."""

    def __init__(self, batch: int, cells: Sequence[tuple[str, int]] = tuple(CELLS), model: str = SEARCH_MODEL,
                 seed: int = SEARCH_SEED):
        torch.set_num_threads(1)
        self.cells = cells
        self.evaluator = ModelEvaluator(load(model), GUIDED_SCALE, batch, seed, reference_steps=100)
        self.baseline = {cell: self.evaluator.measure(cell[0], karras(cell[1])) for cell in cells}

    def ratios(self, schedule) -> dict[str, dict[str, float]]:
        """Per cell, FID and ODE error over Karras's and the class accuracy change (percentage points)."""
        out = {}
        for sampler, steps in self.cells:
            row, base = self.evaluator.measure(sampler, schedule(steps)), self.baseline[(sampler, steps)]
            out[cell_name(sampler, steps)] = {"fid": row.fid / base.fid, "ode_error": row.ode_error / base.ode_error,
                                              "accuracy_change": round((row.accuracy - base.accuracy) * 100, 2)}
        return out


def objective(ratios: dict[str, dict[str, float]]) -> float:
    logs = [(math.log(r["fid"]), math.log(r["ode_error"])) for r in ratios.values()]
    main = sum((f + o) / 2 for f, o in logs) / len(logs)
    aim = sum(max(0.0, f - math.log(AIM)) + max(0.0, o - math.log(AIM)) for f, o in logs) / len(logs)
    accuracy = sum(r["accuracy_change"] for r in ratios.values()) / len(ratios) / 100
    return main + aim + ACCURACY_WEIGHT * max(0.0, -accuracy)


_SCORER: CandidateScorer | None = None


def _init_worker(batch: int) -> None:
    global _SCORER
    _SCORER = CandidateScorer(batch)


def evaluate(unit: np.ndarray) -> dict[str, Any]:
    params = to_params(np.asarray(unit, dtype=float))
    values = config_values(params)
    record = {"unit": [float(x) for x in np.clip(unit, 0, 1)], "params": params, "values": values}
    problem = validation_problem(values)
    if problem:
        return {**record, "objective": math.inf, "ratios": {}, "invalid": problem}
    ratios = _SCORER.ratios(kes(**shape_of(values)))
    return {**record, "objective": objective(ratios), "ratios": ratios}


def refine(args: tuple[np.ndarray, int]) -> list[dict[str, Any]]:
    start, evaluations = args
    return nelder_mead(evaluate, start, evaluations)


def search(batch: int, count: int, evaluations: int, workers: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(SEARCH_SEED)
    units = [to_unit(KARRAS_LIKE)] + [rng.uniform(0, 1, len(SEARCHED)) for _ in range(count)]
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(batch,)) as pool:
        report.log(f"random search: {len(units)} candidates on {SEARCH_MODEL}, batch {batch}, {workers} workers")
        results = pool.map(evaluate, units, chunksize=1)
        starts = refinement_starts(results)
        report.log(f"refinement: Nelder-Mead from {len(starts)} starts, {evaluations} evaluations each")
        for history in pool.map(refine, [(s, evaluations) for s in starts], chunksize=1):
            results += history
    return results


def describe(result: dict[str, Any]) -> str:
    p = result["params"]
    cells = "  ".join(f"{cell} FID {r['fid']:.3f} ODE {r['ode_error']:.3f} acc {r['accuracy_change']:+g}"
                      for cell, r in result["ratios"].items())
    return f"J = {result['objective']:.4f}  l0={p['l0']:.2f} l1={p['l1']:.2f} rho={p['rho']:.2f}\n    {cells}"


NAME = "learned_search"


def pick_text(numbers: dict[str, Any]) -> str:
    """The pick's ratios on the search model, the Karras-like point's beside them, and its config."""
    header = ["point", *[f"{cell} {word}" for cell in numbers["pick"]["ratios"] for word in ("FID", "ODE", "acc")],
              "objective"]
    rows = []
    for label, result in (("Karras-like (l0 = l1 = -8, rho 7)", numbers["karras_like"]), ("pick", numbers["pick"])):
        cells = [(f"{r['fid']:.3f}", f"{r['ode_error']:.3f}", f"{r['accuracy_change']:+g}")
                 for r in result["ratios"].values()]
        rows.append([label, *[value for cell in cells for value in cell], f"{result['objective']:.4f}"])
    values = numbers["pick"]["rounded"]
    shape = ", ".join(f"{key} {values[key]:g}" for key in ("rho", "start_blend", "end_blend"))
    return (f"Search on {SEARCH_MODEL} at cfg {numbers['scale']:g}, {numbers['evaluations']} evaluations, batch "
            f"{numbers['batch']} (noise seed {numbers['seed']}, never the benchmark's): ratios to Karras rho 7 "
            "and class accuracy change in percentage points:\n\n" + report.table(header, rows, align_right_from=1)
            + f"\n\nThe pick, with Karras's ends, no ramps and no sharpening: {shape}.")


def build_report(results: dict[str, Any]) -> dict[str, Any]:
    return {"pick": {"scale": results["scale"], "evaluations": len(results["results"]), "batch": results["batch"],
                     "seed": results["seed"], "karras_like": results["results"][0], "pick": results["pick"]}}


def write(results: dict[str, Any], folder: Path) -> Path:
    return report.write_results(results, folder, NAME, build_report,
                                lambda numbers: [("pick", pick_text(numbers["pick"]))])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/search_learned.py",
                                     description=f"Search a KES preset on the search model {SEARCH_MODEL}; the "
                                                 "learned benchmark judges the pick on the held-out model.")
    parser.add_argument("--quick", action="store_true", help="smoke run: small batch, few candidates")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where learned_search.md and .json go (default benchmarks/results; benchmarks/out "
                             "for --quick)")
    arguments = parser.parse_args(argv)
    batch = QUICK_BATCH if arguments.quick else BATCH
    count = QUICK_CANDIDATES if arguments.quick else CANDIDATES
    evaluations = QUICK_REFINE if arguments.quick else REFINE
    record = report.run_record(argv, "search_learned.py")
    started = time.perf_counter()
    results = search(batch, count, evaluations, arguments.workers)
    record["run_seconds"] = time.perf_counter() - started
    valid = sorted((r for r in results if math.isfinite(r["objective"])), key=lambda r: r["objective"])
    print(f"# KES preset search on {SEARCH_MODEL} (cfg {GUIDED_SCALE:g}, ratios to Karras rho 7)\n")
    print("Karras-like point (should be all 1.000):\n" + describe(results[0]) + "\n")
    print("Top candidates (distinct points):\n")
    shown: list[list[float]] = []
    for result in valid:
        if result["unit"] not in shown:
            shown.append(result["unit"])
            print(f"{len(shown)}. {describe(result)}")
        if len(shown) == 6:
            break
    pick = valid[0]
    saved = {"benchmark": NAME, "written_by": record, "scale": GUIDED_SCALE, "seed": SEARCH_SEED, "batch": batch,
             "pick": {**pick, "rounded": config_values(pick["params"], 4)}, "results": results}
    md_path = write(saved, report.results_folder(arguments.results, arguments.quick))
    report.log(f"wrote {md_path} and {md_path.with_suffix('.json')}")
    return 0


def pick_shape(path: Path) -> dict[str, Any] | None:
    """The saved pick's schedule keys (rounded as a preset would hold them), or None without a saved search."""
    if not path.exists():
        return None
    values = report.read_json(path)["pick"]["rounded"]
    return shape_of(values)
