"""How much could any schedule gain over Karras rho 7? The best free-form schedule for one sampler and step count.

Run from the repository root with the project's venv active (seeded and deterministic):

    python benchmarks/schedule_bound.py                  # euler and dpmpp_2m at 10 and 20 steps, about 20 minutes
    python benchmarks/schedule_bound.py --cells euler@10 --evaluations 200   # a smoke run, about a minute

Why. The preset search (``search_presets.py``) looks for KES parameters that beat Karras by 10% at 10
and 20 steps; it found 2 to 5% for euler and nothing beyond that which keeps fine detail. That could be
a limit of KES's shape or of the problem itself. This script answers which: it drops KES and lets
every sigma between the ends move freely, so no schedule with those ends, KES included, does better
at that sampler and step count on those problems than the best free-form one (up to the optimizer
not finding the global best: it is local, started from Karras rho 7 and from the Exponential
schedule, and reports the better).

The schedule. n steps are n + 1 sigmas; like Karras (and the per-sampler presets) the first is
sigma_max, the last positive one sigma_min, then 0, so the n - 2 sigmas between are free. They are
parameterized by the n - 1 gaps in log sigma, softmax(z) x log(sigma_max / sigma_min): every z gives a
strictly decreasing schedule with those ends, and z = 0 is the Exponential schedule.

Data and scores. As in the preset search: the search problems only, their seeded starts at batch 512,
the realistic sd-clamped denoiser, r = geometric mean over the problems of ODE error / Karras's, and
d = geometric mean over the search data sets of nearest-point distance (fine detail) / Karras's. Two
objectives are minimized with Powell's method (scipy), each for a fixed number of evaluations:

    ODE error only  log r
    keep detail     log r + 20 x max(0, log d)     (the per-sampler search's detail constraint, for one cell)

The schedules found are then scored on the held-out problems at batch 1024, which the optimizer never
saw, next to the shipped preset ``tuned-euler``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from k_diffusion import sampling  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import search_presets  # noqa: E402
from quality_problems import SD_SIGMA_MAX, SD_SIGMA_MIN  # noqa: E402
from simple_kes import presets  # noqa: E402

CELLS = ("euler@10", "euler@20", "dpmpp_2m@10", "dpmpp_2m@20")
OBJECTIVES = ("ODE error only", "keep detail")
DETAIL_WEIGHT = search_presets.CONSTRAINT_WEIGHT
SEARCH_BATCH = 512
CHECK_BATCH = 1024
PRESET = "tuned-euler"
LOG_RANGE = math.log(SD_SIGMA_MAX / SD_SIGMA_MIN)


def parse_cell(cell: str) -> tuple[str, int]:
    sampler, steps = cell.split("@")
    return sampler, int(steps)


def cell_list(text: str) -> list[str]:
    """``--cells``: deterministic samplers (the ODE error needs one) at 3 or more steps (one free sigma)."""
    cells = text.split(",")
    for cell in cells:
        sampler, _, steps = cell.partition("@")
        if sampler not in search_presets.SAMPLERS or not steps.isdigit() or int(steps) < 3:
            raise argparse.ArgumentTypeError(f"{cell!r}: expected SAMPLER@STEPS with SAMPLER one of "
                                             f"{', '.join(search_presets.SAMPLERS)} and STEPS 3 or more")
    return cells


def free_form_sigmas(logits: np.ndarray) -> torch.Tensor:
    """n + 1 float64 sigmas from n - 1 logits: sigma_max down to sigma_min in softmax-weighted log gaps, then 0."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    gaps = torch.softmax(z, 0) * LOG_RANGE
    log_sigmas = math.log(SD_SIGMA_MAX) - torch.cat([torch.zeros(1, dtype=torch.float64), gaps.cumsum(0)])
    sigmas = log_sigmas.exp()
    sigmas[0], sigmas[-1] = SD_SIGMA_MAX, SD_SIGMA_MIN  # exactly, not up to rounding
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)])


def karras_logits(steps: int) -> np.ndarray:
    positive = sampling.get_sigmas_karras(steps, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0).to(torch.float64)[:-1]
    return (-positive.log().diff()).log().numpy()


def score(ratios: dict[str, float], cell: str, objective: str) -> float:
    value = math.log(ratios[cell])
    if objective == "keep detail":
        value += DETAIL_WEIGHT * max(0.0, math.log(ratios[search_presets.DETAIL + cell]))
    return value


def optimize(task: tuple[str, str, int]) -> dict[str, Any]:
    """The best free-form schedule for one cell and objective, over two Powell runs."""
    cell, objective, evaluations = task
    sampler, steps = parse_cell(cell)
    evaluator = search_presets.Evaluator(SEARCH_BATCH, (steps,), (sampler,), detail=True)
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
            "sigmas": free_form_sigmas(best["logits"])}


def held_out_check(cell: str, found: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The found schedules and the preset on the held-out problems at the full batch: name -> ratios."""
    sampler, steps = parse_cell(cell)
    evaluator = search_presets.Evaluator(CHECK_BATCH, (steps,), (sampler,), detail=True, held_out=True)
    checked = {f"free-form, {r['objective']}": evaluator.sigma_ratios({steps: r["sigmas"]}) for r in found}
    checked[f"KES `{PRESET}`"] = evaluator.ratios(presets.preset_values(PRESET))
    return checked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=cell_list, default=list(CELLS), help="sampler@steps, comma separated")
    parser.add_argument("--evaluations", type=int, default=2400, help="objective calls per cell and objective")
    parser.add_argument("--workers", type=int, default=2)
    arguments = parser.parse_args(argv)
    cells = arguments.cells
    started = time.perf_counter()
    tasks = [(cell, objective, arguments.evaluations) for cell in cells for objective in OBJECTIVES]
    with multiprocessing.get_context("fork").Pool(arguments.workers) as pool:
        found = pool.map(optimize, tasks, chunksize=1)
        checks = pool.starmap(held_out_check, [(cell, [r for r in found if r["cell"] == cell]) for cell in cells])

    print("# Free-form schedules with Karras's ends (sigma_max ... sigma_min, 0) against Karras rho 7\n")
    print(f"{arguments.evaluations} evaluations per cell and objective, search batch {SEARCH_BATCH}, "
          f"held-out batch {CHECK_BATCH}, sd-clamped denoiser, {time.perf_counter() - started:.0f} s\n")
    print("ODE error and fine detail (nearest-point distance) as ratios to Karras's; below 1 is better.\n")
    print("| cell | schedule | ODE error, search | fine detail, search | ODE error, held-out | fine detail, held-out |")
    print("|---|---|---|---|---|---|")
    for cell, check in zip(cells, checks):
        search_rows = {f"free-form, {r['objective']}": r["search"] for r in found if r["cell"] == cell}
        for name, held_out in check.items():
            search = search_rows.get(name)
            row = [f"{search[cell]:.3f}", f"{search[search_presets.DETAIL + cell]:.3f}"] if search else ["", ""]
            row += [f"{held_out[cell]:.3f}", f"{held_out[search_presets.DETAIL + cell]:.3f}"]
            print(f"| {cell} | {name} | " + " | ".join(row) + " |")
    print("\nThe free-form sigmas (Karras rho 7 for comparison):\n")
    for r in found:
        steps = parse_cell(r["cell"])[1]
        karras = sampling.get_sigmas_karras(steps, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0)
        print(f"{r['cell']}, {r['objective']}: " + " ".join(f"{s:.4g}" for s in r["sigmas"][:-1].tolist()))
        print(f"{r['cell']}, Karras rho 7: " + " ".join(f"{s:.4g}" for s in karras[:-1].tolist()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
