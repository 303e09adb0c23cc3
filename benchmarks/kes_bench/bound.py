"""How much could any schedule gain over Karras rho 7? The best free-form schedule per sampler and step count.

The preset search looks for KES parameters that beat Karras by 10% at 10 and 20 steps; it found 2 to
5% for euler and nothing beyond that which keeps fine detail. That could be a limit of KES's shape or
of the problem itself. This benchmark answers which: it drops KES and lets every sigma between the
ends move freely (``schedules.free_form_sigmas``: sigma_max, then n - 2 free sigmas, sigma_min, 0),
so no schedule with those ends, KES included, does better at that sampler and step count on those
problems than the best free-form one, up to the optimizer not finding the global best: it is local
(Powell's method, scipy), started from Karras rho 7 and from the Exponential schedule, and reports
the better.

Data and scores, as in the preset search: the search problems only, their seeded starts at batch 512,
the sd-clamped denoiser, r = geometric mean over the problems of ODE error / Karras's and d = the same
for the nearest-point distance on the search data sets (fine detail). Two objectives, each for a
fixed number of evaluations:

    ODE error only  log r
    keep detail     log r + 20 x max(0, log d)     (the per-sampler search's detail constraint)

The schedules found are then scored on the held-out problems at batch 1024, which the optimizer never
saw, next to the shipped preset ``tuned-euler``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from . import report
from .evaluation import DETAIL, DETERMINISTIC, Evaluator
from .schedules import KES_PREFIX, free_form_sigmas, karras, karras_logits, kes, preset_shapes
from .search import CONSTRAINT_WEIGHT

NAME = "schedule_bound"
CELLS = ("euler@10", "euler@20", "dpmpp_2m@10", "dpmpp_2m@20")
ODE_ONLY, KEEP_DETAIL = "ODE error only", "keep detail"
OBJECTIVES = (ODE_ONLY, KEEP_DETAIL)
DETAIL_WEIGHT = CONSTRAINT_WEIGHT
SEARCH_BATCH = 512
CHECK_BATCH = 1024
EVALUATIONS = 2400
# --quick: one cell, few evaluations: a smoke run of a few minutes.
QUICK_CELLS, QUICK_EVALUATIONS = ("euler@10",), 200
PRESET = "tuned-euler"
FREE_FORM = "free-form, {}"


def parse_cell(cell: str) -> tuple[str, int]:
    sampler, steps = cell.split("@")
    return sampler, int(steps)


def cell_list(text: str) -> list[str]:
    """``--cells``: deterministic samplers (the ODE error needs one) at 3 or more steps (one free sigma)."""
    cells = text.split(",")
    for cell in cells:
        sampler, _, steps = cell.partition("@")
        if sampler not in DETERMINISTIC or not steps.isdigit() or int(steps) < 3:
            raise argparse.ArgumentTypeError(f"{cell!r}: expected SAMPLER@STEPS with SAMPLER one of "
                                             f"{', '.join(DETERMINISTIC)} and STEPS 3 or more")
    return cells


def score(ratios: Mapping[str, float], cell: str, objective: str) -> float:
    """The objective's value: log r, plus (keep detail) the penalty for fine detail worse than Karras's."""
    value = math.log(ratios[cell])
    if objective == KEEP_DETAIL:
        value += DETAIL_WEIGHT * max(0.0, math.log(ratios[DETAIL + cell]))
    return value


def optimize(task: tuple[str, str, int]) -> dict[str, Any]:
    """The best free-form schedule for one cell and objective, over two Powell runs."""
    from scipy.optimize import minimize

    cell, objective, evaluations = task
    sampler, steps = parse_cell(cell)
    evaluator = Evaluator(SEARCH_BATCH, (steps,), (sampler,), detail=True)
    best: dict[str, Any] = {"value": math.inf}

    def f(logits: np.ndarray) -> float:
        nonlocal best
        ratios = evaluator.sigma_ratios({steps: free_form_sigmas(logits)})
        value = score(ratios, cell, objective)
        if value < best["value"]:
            best = {"value": value, "logits": np.array(logits), "ratios": ratios}
        return value

    for start in (karras_logits(steps), np.zeros(steps - 1)):
        minimize(f, start, method="Powell", options={"maxfev": evaluations // 2, "xtol": 1e-3, "ftol": 1e-5})
    return {"cell": cell, "objective": objective, "search": best["ratios"],
            "sigmas": free_form_sigmas(best["logits"]).tolist()}


def held_out_check(cell: str, found: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The found schedules and the preset on the held-out problems at the full batch: name -> ratios."""
    import torch

    sampler, steps = parse_cell(cell)
    evaluator = Evaluator(CHECK_BATCH, (steps,), (sampler,), detail=True, held_out=True)
    checked = {FREE_FORM.format(r["objective"]): evaluator.sigma_ratios(
        {steps: torch.tensor(r["sigmas"], dtype=torch.float64)}) for r in found}
    checked[f"KES `{PRESET}`"] = evaluator.schedule_ratios(kes(**preset_shapes()[KES_PREFIX + PRESET]))
    return checked


def run(cells: Sequence[str], evaluations: int, workers: int) -> dict[str, Any]:
    tasks = [(cell, objective, evaluations) for cell in cells for objective in OBJECTIVES]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        found = pool.map(optimize, tasks, chunksize=1)
        checks = pool.starmap(held_out_check, [(cell, [r for r in found if r["cell"] == cell]) for cell in cells])
    return {"benchmark": NAME,
            "settings": {"cells": list(cells), "evaluations": evaluations, "search_batch": SEARCH_BATCH,
                         "check_batch": CHECK_BATCH, "detail_weight": DETAIL_WEIGHT, "variant": "sd-clamped"},
            "found": found, "held_out": dict(zip(cells, checks)),
            "karras": {cell: karras(parse_cell(cell)[1])[:-1].tolist() for cell in cells}}


# --- report ----------------------------------------------------------------------------------------

def build_report(results: Mapping[str, Any]) -> dict[str, Any]:
    """The table's rows and the per-sampler summary, from the saved results only."""
    rows = []
    for cell in results["settings"]["cells"]:
        search = {FREE_FORM.format(r["objective"]): r["search"] for r in results["found"] if r["cell"] == cell}
        for name, held_out in results["held_out"][cell].items():
            found = search.get(name)
            rows.append({"cell": cell, "schedule": name,
                         "ode_search": found[cell] if found else None,
                         "detail_search": found[DETAIL + cell] if found else None,
                         "ode_held_out": held_out[cell], "detail_held_out": held_out[DETAIL + cell]})
    samplers = list(dict.fromkeys(parse_cell(cell)[0] for cell in results["settings"]["cells"]))
    summary = {}
    for sampler in samplers:
        mine = [row for row in rows if parse_cell(row["cell"])[0] == sampler]
        summary[sampler] = {"steps": sorted({parse_cell(row["cell"])[1] for row in mine}), "schedules": {
            name: {column: _span([row[column] for row in mine if row["schedule"] == name])
                   for column in ("ode_search", "detail_search", "ode_held_out", "detail_held_out")}
            for name in dict.fromkeys(row["schedule"] for row in mine)}}
    return {"bound": {"settings": results["settings"], "rows": rows}, "bound-summary": summary,
            "sigmas": {"found": [{key: r[key] for key in ("cell", "objective", "sigmas")} for r in results["found"]],
                       "karras": results["karras"]}}


def _span(values: Sequence[float | None]) -> list[float] | None:
    values = [v for v in values if v is not None]
    return [min(values), max(values)] if values else None


def _three(value: float | None) -> str:
    """The bound's ratios: three decimals (its differences are a few thousandths)."""
    return "" if value is None else f"{value:.3f}"


def bound_text(numbers: Mapping[str, Any]) -> str:
    settings = numbers["settings"]
    intro = (f"ODE error and fine detail (nearest-point distance) relative to Karras rho 7 (below 1 is better), "
             f"geometric mean over the problems, {settings['variant']} denoiser. Free-form: the best schedule with "
             f"Karras's ends found by Powell's method ({settings['evaluations']} evaluations per cell and objective) "
             f"on the search problems ({settings['search_batch']} starts each); held-out problems at "
             f"{settings['check_batch']} starts, never seen by the optimizer.")
    table = report.table(["cell", "schedule", "ODE error, search", "fine detail, search", "ODE error, held-out",
                          "fine detail, held-out"],
                         [[row["cell"], row["schedule"], _three(row["ode_search"]), _three(row["detail_search"]),
                           _three(row["ode_held_out"]), _three(row["detail_held_out"])] for row in numbers["rows"]])
    return f"{intro}\n\n{table}"


def _ratio_span(span: list[float] | None) -> str:
    if span is None:
        return ""
    low, high = report.ratio(span[0]), report.ratio(span[1])
    return low if low == high else f"{low} to {high}"


def summary_text(summary: Mapping[str, Any]) -> str:
    lines = []
    for sampler, numbers in summary.items():
        steps = report.join_words([str(n) for n in numbers["steps"]])
        parts = []
        for name, spans in numbers["schedules"].items():
            if spans["ode_search"] is not None:
                parts.append(f"{name}: ODE error {report.relative_span(*spans['ode_search'])} on the search problems "
                             f"(fine detail {_ratio_span(spans['detail_search'])} times Karras's) and "
                             f"{report.relative_span(*spans['ode_held_out'])} on the held-out ones (fine detail "
                             f"{_ratio_span(spans['detail_held_out'])})")
            else:
                parts.append(f"{name}: ODE error {report.relative_span(*spans['ode_held_out'])} on the held-out "
                             f"problems (fine detail {_ratio_span(spans['detail_held_out'])})")
        lines.append(f"- With {sampler} at {steps} steps, " + "; ".join(parts) + ".")
    return "\n".join(lines)


def sigmas_text(numbers: Mapping[str, Any]) -> str:
    lines = ["The free-form sigmas found (Karras rho 7 for comparison), without the final 0:", ""]
    for found in numbers["found"]:
        lines.append(f"- {found['cell']}, {found['objective']}: " + " ".join(f"{s:.4g}" for s in found["sigmas"][:-1]))
    for cell, sigmas in numbers["karras"].items():
        lines.append(f"- {cell}, Karras rho 7: " + " ".join(f"{s:.4g}" for s in sigmas))
    return "\n".join(lines)


def render(built: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [("bound", bound_text(built["bound"])), ("bound-summary", summary_text(built["bound-summary"])),
            ("sigmas", sigmas_text(built["sigmas"]))]


def write(results: dict[str, Any], folder: Path) -> Path:
    json_path, md_path = folder / f"{NAME}.json", folder / f"{NAME}.md"
    report.write_data_and_report(results, json_path, build_report)
    report.write_markdown(md_path, report.header_line(results["written_by"], results.get("report_regenerated")),
                          render(results["report"]))
    return md_path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/schedule_bound.py",
                                     description="The best free-form schedule with Karras's ends per sampler and "
                                                 "step count, against Karras rho 7 and the tuned-euler preset.")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: --cells {','.join(QUICK_CELLS)} --evaluations {QUICK_EVALUATIONS}")
    parser.add_argument("--cells", type=cell_list,
                        help=f"sampler@steps, comma separated (default {','.join(CELLS)})")
    parser.add_argument("--evaluations", type=int,
                        help=f"objective calls per cell and objective (default {EVALUATIONS})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where schedule_bound.md and .json go (default benchmarks/results; benchmarks/out for "
                             "--quick or other --cells or --evaluations)")
    parser.add_argument("--report-only", metavar="JSON", type=Path,
                        help="only write the .md again from a saved schedule_bound.json, without optimizing")
    arguments = parser.parse_args(argv)
    if arguments.report_only:
        results = report.saved_run(arguments.report_only, NAME, "schedule_bound.py", argv)
        report.log(f"wrote {write(results, arguments.results or arguments.report_only.parent)}")
        return 0
    cells = arguments.cells or list(QUICK_CELLS if arguments.quick else CELLS)
    evaluations = arguments.evaluations or (QUICK_EVALUATIONS if arguments.quick else EVALUATIONS)
    partial = cells != list(CELLS) or evaluations != EVALUATIONS
    folder = report.results_folder(arguments.results, partial)
    started = time.perf_counter()
    record = report.run_record(argv, "schedule_bound.py")
    results = run(cells, evaluations, arguments.workers)
    record["run_seconds"] = time.perf_counter() - started
    md_path = write({"written_by": record, **results}, folder)
    print(md_path.read_text(encoding="utf-8"))
    report.log(f"wrote {md_path} and {md_path.with_suffix('.json')}")
    return 0
