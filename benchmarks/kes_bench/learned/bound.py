"""How far could any schedule with Karras's ends get on the digit models? The best free-form schedule per cell.

As ``kes_bench.bound`` does on the exact problems: every sigma between sigma_max and sigma_min moves
freely (``schedules.free_form_sigmas``: softmax-weighted log gaps, so every point is a valid, strictly
decreasing schedule), optimized separately for euler and dpmpp_2m at 10 steps (the guided scale) on
the search model with the search's noise and the search's objective restricted to that cell. Only the
10-step cells: at 20 steps there are 19 free sigmas, and the evaluations a 2-core machine affords
(each samples the model 40 times) are fewer than one sweep of Powell's method over them. The
optimizer is local (Powell's method, scipy, from Karras rho 7) and runs a fixed number of
evaluations, so this is the best it found, not a proof. The schedules found are then
judged on the held-out model with the benchmark's noise and batch, which the optimizer never saw.
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
from ..schedules import free_form_sigmas, karras, karras_logits
from .benchmark import FULL, GUIDED_SCALE, NOISE_SEED, SEARCH_PICK, learned_schedules
from .evaluation import ModelEvaluator
from .models import load
from .search import BATCH, CandidateScorer, cell_name, objective
from .training import HELD_OUT_MODEL, SEARCH_MODEL

NAME = "learned_bound"
BOUND_CELLS = [(sampler, 10) for sampler in ("euler", "dpmpp_2m")]
EVALUATIONS = 80
QUICK_EVALUATIONS = 6
FREE_FORM = "free-form"


def optimize(task: tuple[str, int, int, int]) -> dict[str, Any]:
    """The best free-form schedule for one cell on the search model."""
    from scipy.optimize import minimize

    sampler, steps, evaluations, batch = task
    scorer = CandidateScorer(batch, cells=[(sampler, steps)])
    history: list[tuple[float, list[float]]] = []

    def f(logits: np.ndarray) -> float:
        sigmas = free_form_sigmas(logits).to(torch.float32)
        value = objective(scorer.ratios(lambda n: sigmas))
        history.append((value, [float(x) for x in logits]))
        return value

    start = karras_logits(steps)
    minimize(f, start, method="Powell", options={"maxfev": evaluations, "xtol": 1e-3, "ftol": 1e-4})
    best_value, best_logits = min(history, key=lambda item: item[0])
    return {"cell": cell_name(sampler, steps), "evaluations": len(history), "objective": best_value,
            "karras_objective": history[0][0],
            "sigmas": free_form_sigmas(np.array(best_logits)).to(torch.float32).tolist()}


def judge(found: Sequence[dict[str, Any]], batch: int) -> dict[str, dict[str, dict[str, float]]]:
    """cell -> schedule -> FID and ODE error ratios to Karras and class accuracy change on the held-out model."""
    torch.set_num_threads(1)
    evaluator = ModelEvaluator(load(HELD_OUT_MODEL), GUIDED_SCALE, batch, NOISE_SEED, FULL.reference_steps)
    schedules = learned_schedules()
    out: dict[str, dict[str, dict[str, float]]] = {}
    for result in found:
        sampler, steps = result["cell"].split("@")
        steps = int(steps)
        base = evaluator.measure(sampler, karras(steps))
        candidates = {FREE_FORM: torch.tensor(result["sigmas"]), "KES tuned-euler": schedules["KES tuned-euler"](steps)}
        if SEARCH_PICK in schedules:
            candidates[SEARCH_PICK] = schedules[SEARCH_PICK](steps)
        for name, sigmas in candidates.items():
            row = evaluator.measure(sampler, sigmas)
            out.setdefault(result["cell"], {})[name] = {
                "fid": row.fid / base.fid, "ode_error": row.ode_error / base.ode_error,
                "accuracy_change": round((row.accuracy - base.accuracy) * 100, 2)}
    return out


def bound_text(numbers: dict[str, Any]) -> str:
    header = ["cell", "schedule", "search: objective (Karras's)", "held-out FID", "held-out ODE error",
              "held-out accuracy change"]
    rows = []
    for cell, by_schedule in numbers["held_out"].items():
        found = numbers["found"][cell]
        for name, r in by_schedule.items():
            search = (f"{found['objective']:.3f} ({found['karras_objective']:.3f})" if name == FREE_FORM else "")
            rows.append([cell, name, search, f"{r['fid']:.3f}", f"{r['ode_error']:.3f}", f"{r['accuracy_change']:+g}"])
    evaluations = ", ".join(f"{cell} {found['evaluations']}" for cell, found in numbers["found"].items())
    return (f"The best free-form schedule with Karras's ends found per cell on {SEARCH_MODEL} (Powell's method from "
            f"Karras rho 7; evaluations: {evaluations}; batch {numbers['search_batch']}), cfg {numbers['scale']:g}, "
            f"and how it and the KES shapes do on {HELD_OUT_MODEL} ({numbers['check_batch']} samples), as ratios to "
            "Karras rho 7 (below 1 is better):\n\n" + report.table(header, rows, align_right_from=2))


def build_report(results: dict[str, Any]) -> dict[str, Any]:
    return {"bound": {"scale": results["scale"], "search_batch": results["search_batch"],
                      "check_batch": results["check_batch"],
                      "found": {r["cell"]: {key: r[key] for key in ("evaluations", "objective", "karras_objective")}
                                for r in results["found"]},
                      "held_out": results["held_out"]}}


def write(results: dict[str, Any], folder: Path) -> Path:
    return report.write_results(results, folder, NAME, build_report,
                                lambda numbers: [("bound", bound_text(numbers["bound"]))])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/learned_bound.py",
                                     description="The best free-form schedule per cell on the search digit model, "
                                                 "judged on the held-out one.")
    parser.add_argument("--quick", action="store_true", help="smoke run: one cell, a few evaluations, small batches")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where learned_bound.md and .json go (default benchmarks/results; benchmarks/out for "
                             "--quick)")
    arguments = parser.parse_args(argv)
    cells = BOUND_CELLS[:1] if arguments.quick else BOUND_CELLS
    batch, check_batch = (64, 64) if arguments.quick else (BATCH, FULL.batch)
    tasks = [(sampler, steps, QUICK_EVALUATIONS if arguments.quick else EVALUATIONS, batch) for sampler, steps in cells]
    record = report.run_record(argv, "learned_bound.py")
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(arguments.workers) as pool:
        found = pool.map(optimize, tasks, chunksize=1)
    report.log(f"optimized in {time.perf_counter() - started:.0f} s; judging on {HELD_OUT_MODEL}")
    held_out = judge(found, check_batch)
    record["run_seconds"] = time.perf_counter() - started
    results = {"benchmark": NAME, "written_by": record, "scale": GUIDED_SCALE, "search_batch": batch,
               "check_batch": check_batch, "found": found, "held_out": held_out}
    md_path = write(results, report.results_folder(arguments.results, arguments.quick))
    print(md_path.read_text(encoding="utf-8"))
    report.log(f"wrote {md_path} and {md_path.with_suffix('.json')}")
    return 0 if all(math.isfinite(r["objective"]) for r in found) else 1
