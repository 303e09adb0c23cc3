"""Search the KES parameters for a preset for one sampler, on the benchmark's search problems only.

Data. Only the problems marked search (``held_out=False``); the held-out ones are never built here.
Each uses the benchmark's seeded starts at batch 512 instead of 1024, for speed; a preset found is
then checked by the full quality benchmark on all problems, search and held-out, at batch 1024.

Denoiser. The realistic ``sd-clamped`` variant only: tuning on the exact one would reward ending below
the model's range.

Why one sampler and Karras's ends. The ODE error (RMS distance to the exact solution) is decided by
the few starts that end in another mode and is nearly blind to the last steps, while the distance of
the samples to the nearest data point (fine detail) is decided by them. In an exploratory search over
all seven identifiable parameters for euler (601 candidates, an earlier version of this search),
every candidate whose ODE error at 10 and 20 steps was 5% or more below Karras's had 1.5 to 8 times
Karras's nearest-point distance (by ending above sigma_min, below it where the SD-like denoiser sees
a clamped timestep, or with fewer steps near sigma_min), and with a fine-detail constraint it found
nothing better than Karras itself. (An all-sampler search over the seven parameters produced the
withdrawn ``tuned`` preset; it has been removed.) So the search keeps Karras's ends: start exactly at
sigma_max (sigma_max_factor 1), no step-size or noise-scale ramp, no sharpening (f = 1, E = 1, s = 1
below; u then does nothing), and searches only the shape in between: the blend at the first and the
last step and rho (l0, l1, rho). With one start the exact ODE references and the Karras baselines are
computed once per problem and reused for every candidate.

Objective (lower is better; Karras rho 7 itself pays both margins, log(1/0.9) + 20 log(1/0.99) = 0.31,
so a candidate must beat it clearly). r = geometric mean over the search
problems of ODE error(candidate) / ODE error(Karras rho 7) per (sampler, steps) cell at 5, 8, 10, 15,
20, 30, 50 steps; d = the same for the nearest-point distance over the search data sets:

    J = mean of log r over NAME@10 and NAME@20
      + 1 x mean over those two of max(0, log r - log 0.9)                  (push them below 0.9)
      + 20 x max(0, max over NAME's other step counts of log r - log 0.99)   (not worse elsewhere)
      + 20 x max(0, mean over NAME's step counts of log d)                  (keep fine detail)

The detail constraint is on the mean over the seven step counts because a single cell's
nearest-point RMS moves by several percent with the batch.

Parameterization. The schedule is blended(p) x step_size(p) x noise_scale(p), the last two linear in
the progress p, and sharpness on sigmas below 1.5 x sigma_min. The identifiable parameters are

    f      = sigma_max_factor (top of the Karras/Exponential curves, in units of sigma_max)   pinned 1
    E      = end scale / start scale ratio relative to f                                      pinned 1
    u      = how the end/start ratio R = E x f splits between step size R^u and noise scale   pinned
    l0, l1 = the Exponential weight's logits at the first and the last step, -8 to 8 (-8: Karras)
    s      = sharpness                                                                        pinned 1
    rho    = rho of the Karras curve, 2 to 30 (log scale)

mapped back to config values as sigma_max_factor = f, initial_step_size = 1 / f, initial_noise_scale = 1,
final_step_size = R^u / f, final_noise_scale = R^(1-u), both factors 1, smooth_blend_factor = 11 (the
default), rho = rho, start_blend = 0.5 + l0 / 11, end_blend = 0.5 + l1 / 11, update_interval = 1. A
candidate that ``simple_kes.validate`` refuses (limits, cross-key rules, strictly decreasing for 1 to
200 steps) is rejected (J = inf).

Method. (1) Seeded random search: N candidates uniform in the box (log-uniform for rho), plus the
Karras-equivalent point, evaluated in parallel (one process per core). (2) Nelder-Mead (scipy) in the
unit-box coordinates from the best two distinct candidates, a fixed number of evaluations each,
out-of-box points clipped. The pick is the best J.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

import simple_kes

from . import report
from .evaluation import DETAIL, DETERMINISTIC, STEP_COUNTS, Evaluator
from .schedules import kes, shape_of

SAMPLERS = DETERMINISTIC
STEPS = STEP_COUNTS
TARGET_STEPS = (10, 20)
TARGET_RATIO = 0.9
TARGET_WEIGHT = 1.0
# A cell of the sampler above ELSEWHERE_MARGIN x Karras costs CONSTRAINT_WEIGHT x its log excess.
ELSEWHERE_MARGIN = 0.99
CONSTRAINT_WEIGHT = 20.0
DETAIL_MARGIN = 1.0
# Start at sigma_max and end at sigma_min like Karras, no ramps, no sharpening (see above).
PINNED = {"f": 1.0, "E": 1.0, "u": 0.25, "s": 1.0}
SEED = 20240607
BLEND_STEEPNESS = 11.0
BATCH, QUICK_BATCH = 512, 64
CANDIDATES, QUICK_CANDIDATES = 150, 12
REFINE, QUICK_REFINE = 100, 6

# name, low, high, log scale: the seven identifiable parameters; the search moves those not PINNED.
BOX = (("f", 0.7, 3.0, True), ("E", 0.5, 2.0, True), ("u", 0.0, 0.5, False), ("l0", -8.0, 8.0, False),
       ("l1", -8.0, 8.0, False), ("s", 0.7, 1.1, True), ("rho", 2.0, 30.0, True))
SEARCHED = tuple(dimension for dimension in BOX if dimension[0] not in PINNED)
KARRAS_LIKE = {"f": 1.0, "E": 1.0, "u": 0.25, "l0": -8.0, "l1": -8.0, "s": 1.0, "rho": 7.0}


def to_params(unit: np.ndarray) -> dict[str, float]:
    """Unit-box coordinates (clipped to [0, 1]) to the identifiable parameters."""
    params = dict(PINNED)
    for x, (name, low, high, log) in zip(np.clip(unit, 0.0, 1.0), SEARCHED):
        params[name] = math.exp(math.log(low) + x * (math.log(high) - math.log(low))) if log else low + x * (high - low)
    return params


def to_unit(params: dict[str, float]) -> np.ndarray:
    return np.array([math.log(params[name] / low) / math.log(high / low) if log else (params[name] - low) / (high - low)
                     for name, low, high, log in SEARCHED])


def config_values(params: dict[str, float], digits: int | None = None) -> dict[str, Any]:
    """The preset's schedule keys for the identifiable parameters; optionally rounded."""
    f, end_ratio = params["f"], params["E"] * params["f"]
    r = (lambda v: v) if digits is None else (lambda v: float(f"{v:.{digits}g}"))
    f = r(f)
    return {
        "sigma_min": None, "sigma_max": None,
        "sigma_max_factor": f,
        "rho": r(params["rho"]),
        "start_blend": r(0.5 + params["l0"] / BLEND_STEEPNESS),
        "end_blend": r(0.5 + params["l1"] / BLEND_STEEPNESS),
        "smooth_blend_factor": BLEND_STEEPNESS,
        "update_interval": 1,
        # 1 / f kept to more digits so the first sigma stays sigma_max to float32 rounding.
        "initial_step_size": float(f"{1 / f:.9g}"),
        "final_step_size": r(end_ratio ** params["u"] / f),
        "step_size_factor": 1.0,
        "initial_noise_scale": 1.0,
        "final_noise_scale": r(end_ratio ** (1 - params["u"])),
        "noise_scale_factor": 1.0,
        "sharpness": r(params["s"]),
    }


def validation_problem(values: dict[str, Any]) -> str | None:
    """Why ``simple_kes.validate`` refuses these values, or None."""
    try:
        simple_kes.validate(values)
    except simple_kes.ConfigError as error:
        return str(error)
    return None


def target_cells(sampler: str) -> list[str]:
    return [f"{sampler}@{n}" for n in TARGET_STEPS]


def objective(ratios: dict[str, float], sampler: str) -> float:
    """J of the module docstring."""
    targets = target_cells(sampler)
    others = [cell for cell in ratios if cell not in targets and not cell.startswith(DETAIL)]
    logs = {cell: math.log(r) for cell, r in ratios.items()}
    main = sum(logs[c] for c in targets) / len(targets)
    target_penalty = sum(max(0.0, logs[c] - math.log(TARGET_RATIO)) for c in targets) / len(targets)
    excess = max(logs[c] for c in others) - math.log(ELSEWHERE_MARGIN)
    details = [logs[c] for c in logs if c.startswith(DETAIL)]
    detail_excess = sum(details) / len(details) - math.log(DETAIL_MARGIN)
    return main + TARGET_WEIGHT * target_penalty + CONSTRAINT_WEIGHT * (max(0.0, excess) + max(0.0, detail_excess))


# --- one evaluator per worker process -----------------------------------------------------------------

_EVALUATOR: Evaluator | None = None
_SAMPLER: str | None = None


def _init_worker(batch: int, steps: tuple[int, ...], sampler: str) -> None:
    global _EVALUATOR, _SAMPLER
    _EVALUATOR = Evaluator(batch, steps, (sampler,), detail=True)
    _SAMPLER = sampler


def evaluate(unit: np.ndarray) -> dict[str, Any]:
    """One candidate: its parameters, config values, ratios and objective (inf if invalid)."""
    params = to_params(np.asarray(unit, dtype=float))
    values = config_values(params)
    record = {"unit": [float(x) for x in np.clip(unit, 0, 1)], "params": params, "values": values}
    problem = validation_problem(values)
    if problem:
        return {**record, "objective": math.inf, "ratios": {}, "invalid": problem}
    ratios = _EVALUATOR.schedule_ratios(kes(**shape_of(values)))
    return {**record, "objective": objective(ratios, _SAMPLER), "ratios": ratios}


def refine(args: tuple[np.ndarray, int]) -> list[dict[str, Any]]:
    """Nelder-Mead from ``start`` for ``evaluations`` objective calls; every evaluated point is returned."""
    start, evaluations = args
    return nelder_mead(evaluate, start, evaluations)


def nelder_mead(evaluate_unit: Callable[[np.ndarray], dict[str, Any]], start: np.ndarray,
                evaluations: int) -> list[dict[str, Any]]:
    """Every result ``evaluate_unit`` gave while Nelder-Mead (scipy) minimized its objective from ``start``
    for ``evaluations`` calls; a rejected candidate (objective inf) counts as 10, far above any valid one."""
    from scipy.optimize import minimize

    history: list[dict[str, Any]] = []

    def f(unit: np.ndarray) -> float:
        result = evaluate_unit(unit)
        history.append(result)
        return result["objective"] if math.isfinite(result["objective"]) else 10.0

    minimize(f, start, method="Nelder-Mead",
             options={"maxfev": evaluations, "initial_simplex": simplex(start), "xatol": 1e-3, "fatol": 1e-4})
    return history


def refinement_starts(results: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    """The best valid candidate, and the best one at least 0.15 away from it in some coordinate (if any)."""
    ranked = sorted((r for r in results if math.isfinite(r["objective"])), key=lambda r: r["objective"])
    starts = [np.array(ranked[0]["unit"])]
    for r in ranked[1:]:
        if np.abs(np.array(r["unit"]) - starts[0]).max() > 0.15:
            starts.append(np.array(r["unit"]))
            break
    return starts


def simplex(start: np.ndarray, size: float = 0.08) -> np.ndarray:
    points = [start]
    for i in range(len(start)):
        point = start.copy()
        point[i] = point[i] + size if point[i] + size <= 1 else point[i] - size
        points.append(point)
    return np.array(points)


# --- the search log ----------------------------------------------------------------------------------

def format_result(result: dict[str, Any], steps: tuple[int, ...], sampler: str) -> str:
    p = result["params"]
    lines = [f"J = {result['objective']:.4f}   l0={p['l0']:.2f} l1={p['l1']:.2f} rho={p['rho']:.2f}   "
             f"(pinned: f={p['f']:g} E={p['E']:g} s={p['s']:g})"]
    lines.append("    " + " ".join(f"{s:>8}" for s in ["steps"] + [str(n) for n in steps]))
    lines.append("    " + f"{sampler:>8} " + " ".join(f"{result['ratios'][f'{sampler}@{n}']:8.3f}" for n in steps))
    if f"{DETAIL}{sampler}@{steps[0]}" in result["ratios"]:
        lines.append("    " + f"{'detail':>8} " + " ".join(f"{result['ratios'][f'{DETAIL}{sampler}@{n}']:8.3f}"
                                                      for n in steps))
    return "\n".join(lines)


def search(sampler: str, batch: int, count: int, evaluations: int, workers: int) -> list[dict[str, Any]]:
    """Every evaluated candidate: the Karras-like point first, then the random ones, then the refinement."""
    rng = np.random.default_rng(SEED)
    units = [to_unit(KARRAS_LIKE)] + [rng.uniform(0, 1, len(SEARCHED)) for _ in range(count)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker,
                                                  initargs=(batch, STEPS, sampler)) as pool:
        report.log(f"random search: {len(units)} candidates, batch {batch}, {workers} workers")
        results = pool.map(evaluate, units, chunksize=1)
        report.log(f"  done in {time.perf_counter() - started:.0f} s; "
                   f"{sum(not math.isfinite(r['objective']) for r in results)} rejected by validation")
        starts = refinement_starts(results)
        report.log(f"refinement: Nelder-Mead from {len(starts)} starts, {evaluations} evaluations each")
        for history in pool.map(refine, [(s, evaluations) for s in starts], chunksize=1):
            results += history
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/search_presets.py",
                                     description="Search a KES preset for one sampler on the search problems.")
    parser.add_argument("--sampler", choices=SAMPLERS, default="euler",
                        help="the sampler the preset is for (default euler: how tuned-euler was found)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small batch, few candidates")
    parser.add_argument("--candidates", type=int,
                        help=f"random candidates (default {CANDIDATES}, quick {QUICK_CANDIDATES})")
    parser.add_argument("--refine", type=int,
                        help=f"Nelder-Mead evaluations per start (default {REFINE}, quick {QUICK_REFINE})")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", metavar="PATH", type=Path,
                        help="the search log: every evaluated candidate (default "
                             "benchmarks/out/search_presets-SAMPLER[-quick].json)")
    arguments = parser.parse_args(argv)
    sampler = arguments.sampler
    batch = QUICK_BATCH if arguments.quick else BATCH
    count = arguments.candidates or (QUICK_CANDIDATES if arguments.quick else CANDIDATES)
    evaluations = arguments.refine or (QUICK_REFINE if arguments.quick else REFINE)
    started = time.perf_counter()
    results = search(sampler, batch, count, evaluations, arguments.workers)
    elapsed = time.perf_counter() - started

    valid = sorted((r for r in results if math.isfinite(r["objective"])), key=lambda r: r["objective"])
    karras_like = results[0]
    print(f"# KES preset search: a preset for {sampler} (search problems only, sd-clamped denoiser, "
          "ODE error / Karras rho 7)\n")
    print(f"{len(results)} evaluations ({count} random + Karras-like + refinement), batch {batch}, seed {SEED}, "
          f"{elapsed:.0f} s\n")
    print("Karras-like point (should be all 1.000):\n" + format_result(karras_like, STEPS, sampler) + "\n")
    print("Top candidates by objective:\n")
    seen: list[np.ndarray] = []
    for r in valid:
        if any(np.abs(np.array(r["unit"]) - s).max() < 0.02 for s in seen):
            continue
        seen.append(np.array(r["unit"]))
        print(f"{len(seen)}. " + format_result(r, STEPS, sampler) + "\n")
        if len(seen) == 8:
            break
    pick = valid[0]
    print(f"Pick for {sampler}:\n" + format_result(pick, STEPS, sampler))
    print("    config (rounded to 4 significant digits): " + json.dumps(config_values(pick["params"], 4)) + "\n")
    path = arguments.json or report.OUT / f"search_presets-{sampler}{'-quick' if arguments.quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"written_by": report.run_record(argv, "search_presets.py", elapsed), "seed": SEED,
                                "batch": batch, "sampler": sampler,
                                "pick": {**pick, "rounded": config_values(pick["params"], 4)},
                                "results": results}, indent=1, default=str), encoding="utf-8")
    report.log(f"wrote the search log {path}")
    return 0

