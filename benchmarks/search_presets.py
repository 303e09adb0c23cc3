"""Search the KES parameters for presets that beat Karras rho 7, using only the benchmark's search problems.

Run from the repository root with the project's venv active (seeded: one command gives the same result):

    python benchmarks/search_presets.py                     # about 30 minutes on 2 CPU cores
    python benchmarks/search_presets.py --quick             # smoke run, about a minute
    python benchmarks/search_presets.py --json benchmarks/out/search.json
    python benchmarks/search_presets.py --sampler euler     # a preset for one sampler, about 3 minutes

Data. Only the problems of ``quality_problems.all_problems()`` marked search (``held_out=False``); the
held-out ones are never built here. Each problem uses ``quality.problem_noise`` (the benchmark's seeded
starts) at a smaller batch (512 instead of 1024) for speed; the presets are then re-checked by the full
``quality.py`` run on all problems, search and held-out, at batch 1024.

Denoiser. The realistic ``sd-clamped`` variant only. Because every candidate starts exactly at
sigma_max (below), the exact and sd-clamped denoisers differ only where a schedule goes below
sigma_min at the end, where the clamped one is what a real model does; tuning on the exact one too
would reward ending below the model's range.

Objective (lower is better; Karras rho 7 itself scores 0). For every (sampler, steps) cell the ratio
r = geometric mean over the search problems of ODE error(candidate) / ODE error(Karras rho 7), on
the deterministic samplers euler, heun, dpm_2, lms, dpmpp_2m at 5, 8, 10, 15, 20, 30, 50 steps:

    J = mean of log r over the 4 target cells (euler and dpmpp_2m at 10 and 20 steps)
      + 1 x mean over the target cells of max(0, log r - log 0.9)   (push every target cell below 0.9)
      + 2 x mean over the 31 other cells of max(0, log r)           ("not worse elsewhere")

With ``--sampler NAME`` the search is for a preset meant for that one sampler, and it also keeps fine
detail. The RMS error above is decided by the few starts that end in another mode and is nearly blind
to the last steps, while the distance of the samples to the nearest data point (the benchmark's
distribution score on data-set problems: fine detail) is decided by them. In an exploratory search
over all seven parameters for euler (601 candidates, an earlier version of this mode), every candidate
whose RMS at 10 and 20 steps was 5% or more below Karras's had 1.5 to 8 times Karras's nearest-point
distance (by ending above sigma_min, below it where the SD-like denoiser sees a clamped timestep, or
with fewer steps near sigma_min), and with a fine-detail constraint it found nothing better than
Karras itself. So this mode keeps Karras's ends: sigma_max_factor 1, no step-size or noise-scale ramp,
no sharpening (f = 1, E = 1, s = 1; u then does nothing), and searches only the shape in between: the
blend at the first and last step and rho (l0, l1, rho). Only NAME runs; its cells at 10 and 20 steps
are the targets, its other step counts (5, 8, 15, 30, 50) a constraint, and
d = geometric mean over the search data sets of nearest-point distance(candidate) / Karras's is a
second one:

    J = mean of log r over NAME@10 and NAME@20
      + 1 x mean over those two of max(0, log r - log 0.9)
      + 20 x max(0, max over NAME's other step counts of log r - log 0.99)
      + 20 x max(0, mean over NAME's step counts of log d)

The detail constraint is on the mean over the seven step counts because a single cell's
nearest-point RMS moves by several percent with the batch. One sampler costs a fifth or less of the
five and there are three parameters: 150 random candidates, Nelder-Mead 2 x 100.

Starting point. Candidates are constrained to start exactly at sigma_max:
sigma_max_factor x initial_step_size x initial_noise_scale = 1. The ablation in quality.py found that
starting above sigma_max (the defaults start at 1.2375 x) does not help, a real model cannot see
above sigma_max anyway (sd-clamped), and with one start the exact ODE references and the Karras
baselines are computed once per problem and reused for every candidate. The float32 first sigma
differs from sigma_max by rounding only (< 1e-5 relative); such starts reuse the sigma_max reference
(the resulting difference in the exact solution is orders of magnitude below the errors measured),
any other start gets its own reference.

Parameterization. The schedule is blended(p) x step_size(p) x noise_scale(p), the last two linear in
the progress p, and sharpness on sigmas below 1.5 x sigma_min. Redundancies: step size and noise scale
multiply (only their start product and their two end/start ratios matter); each ``*_factor``
multiplies its ``final_*`` (only the product matters); start_blend, end_blend and smooth_blend_factor
enter only as the two logits (blend - 0.5) x smooth_blend_factor at the start and end. The identifiable
parameters searched are seven:

    f      = sigma_max_factor (top of the Karras/Exponential curves, in units of sigma_max), 0.7 to 3
    E      = end scale / start scale ratio relative to f, i.e. the last scaled sigma is about
             E x sigma_min before sharpness, 0.5 to 2
    u      = how the end/start ratio R = E x f splits between step size (R^u) and noise scale (R^(1-u)):
             the product of two lines is a quadratic, u sets its curvature, 0 to 0.5 (symmetric)
    l0, l1 = the Exponential weight's logits at the first and the last step, -8 to 8 (-8: Karras)
    s      = sharpness, 0.7 to 1.1
    rho    = rho of the Karras curve, 2 to 30 (the blend alone can only move from rho 7 towards the
             Exponential curve; some problems want a lower rho)

mapped back to config values as sigma_max_factor = f, initial_step_size = 1 / f, initial_noise_scale = 1,
final_step_size = R^u / f, final_noise_scale = R^(1-u), both factors 1, smooth_blend_factor = 11 (the
default), rho = rho, start_blend = 0.5 + l0 / 11, end_blend = 0.5 + l1 / 11, update_interval = 1. A candidate
whose config fails validation (``KesConfig`` plus ``scheduler.schedule_problems``, strictly decreasing
for 1 to 200 steps) is rejected (J = inf).

Method. (1) Seeded random search: N candidates uniform in the box above (log-uniform for f, E, s, rho),
plus the Karras-equivalent point; evaluated in parallel (one process per core). (2) Local refinement:
Nelder-Mead (scipy) in the unit-box coordinates from the best two distinct candidates, one process
each, a fixed number of evaluations, out-of-box points clipped. The top candidates are printed with
their objective and their per-(sampler, steps) ratios. The "euler" pick is the evaluated candidate
with the best euler target cells whose dpmpp_2m target cells and other cells are not worse than
Karras; the "balanced" pick is the best J. With ``--sampler`` the one pick is the best J.
"""

from __future__ import annotations

import argparse
import json
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

import simple_kes  # noqa: E402
from simple_kes.scheduler import schedule_problems  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import quality  # noqa: E402
from quality_problems import SD_SIGMA_MAX, SD_SIGMA_MIN, all_problems, solve_probability_flow  # noqa: E402

VARIANT = "sd-clamped"
SAMPLERS = quality.DETERMINISTIC
STEPS = quality.STEP_COUNTS
TARGET_SAMPLERS = quality.SUMMARY_SAMPLERS
TARGET_STEPS = quality.SUMMARY_STEPS
TARGET_RATIO = 0.9
TARGET_WEIGHT = 1.0
ELSEWHERE_WEIGHT = 2.0
# --sampler: a cell of the sampler above ELSEWHERE_MARGIN x Karras costs CONSTRAINT_WEIGHT x its log excess.
ELSEWHERE_MARGIN = 0.99
CONSTRAINT_WEIGHT = 20.0
DETAIL_MARGIN = 1.0
# --sampler: start at sigma_max and end at sigma_min like Karras, no ramps, no sharpening (see above).
PINNED = {"f": 1.0, "E": 1.0, "u": 0.25, "s": 1.0}
DETAIL = "detail:"  # prefix of the nearest-point distance ratios among a candidate's ratios
SEED = 20240607
BLEND_STEEPNESS = 11.0
START_TOLERANCE = 1e-5

# name, low, high, log scale
BOX = (("f", 0.7, 3.0, True), ("E", 0.5, 2.0, True), ("u", 0.0, 0.5, False), ("l0", -8.0, 8.0, False),
       ("l1", -8.0, 8.0, False), ("s", 0.7, 1.1, True), ("rho", 2.0, 30.0, True))
KARRAS_LIKE = {"f": 1.0, "E": 1.0, "u": 0.25, "l0": -8.0, "l1": -8.0, "s": 1.0, "rho": 7.0}


def search_box(sampler: str | None) -> tuple[tuple[str, float, float, bool], ...]:
    """The searched dimensions: all seven, or the three left free for a one-sampler preset."""
    return tuple(dimension for dimension in BOX if not (sampler and dimension[0] in PINNED))


def to_params(unit: np.ndarray, sampler: str | None = None) -> dict[str, float]:
    """Unit-box coordinates (clipped to [0, 1]) to the seven identifiable parameters."""
    params = dict(PINNED) if sampler else {}
    for x, (name, low, high, log) in zip(np.clip(unit, 0.0, 1.0), search_box(sampler)):
        params[name] = math.exp(math.log(low) + x * (math.log(high) - math.log(low))) if log else low + x * (high - low)
    return params


def to_unit(params: dict[str, float], sampler: str | None = None) -> np.ndarray:
    return np.array([(math.log(params[name] / low) / math.log(high / low)) if log else (params[name] - low) / (high - low)
                     for name, low, high, log in search_box(sampler)])


def config_values(params: dict[str, float], digits: int | None = None) -> dict[str, Any]:
    """The schedule keys (presets.PRESET_KEYS) for the identifiable parameters; optionally rounded."""
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


def shape_from(values: dict[str, Any]) -> dict[str, Any]:
    return {key: values[key] for key in quality.SHAPE_DEFAULTS}


def validation_problems(values: dict[str, Any]) -> list[str]:
    try:
        config = simple_kes.KesConfig(**values)
    except simple_kes.ConfigError as error:
        return [str(error)]
    return [problem.message for problem in schedule_problems(config)]


# --- evaluation (one state per worker process) ------------------------------------------------------

class Evaluator:
    """Search problems (or, for a final check only, the held-out ones), their seeded starts, exact
    references and Karras baselines, built once."""

    def __init__(self, batch: int, steps: tuple[int, ...], samplers: tuple[str, ...], detail: bool,
                 held_out: bool = False):
        torch.set_num_threads(1)
        self.steps = steps
        self.samplers = samplers
        self.detail = detail
        self.problems = [p for p in all_problems() if p.held_out == held_out]
        self.noise = {p.name: quality.problem_noise(p, batch) for p in self.problems}
        karras = {n: sampling.get_sigmas_karras(n, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0).to(torch.float64) for n in steps}
        self.karras_start = float(karras[steps[0]][0])
        self.references: dict[tuple[str, float], torch.Tensor] = {}
        self.baseline = self.errors(karras)

    def reference(self, problem, sigma_start: float) -> torch.Tensor:
        if abs(sigma_start / self.karras_start - 1) < START_TOLERANCE:
            sigma_start = self.karras_start
        key = (problem.name, sigma_start)
        if key not in self.references:
            self.references[key] = solve_probability_flow(problem, self.noise[problem.name] * sigma_start, sigma_start)
        return self.references[key]

    def errors(self, by_steps: dict[int, torch.Tensor]) -> dict[str, list[float]]:
        """'sampler@steps' -> ODE error per search problem; with ``detail``, 'detail:sampler@steps' ->
        nearest-point distance per search data set."""
        table: dict[str, list[float]] = {}
        for problem in self.problems:
            scorer = quality.Scorer(problem) if self.detail and problem.is_data_set else None
            rows = quality.evaluate_schedule(problem, VARIANT, self.noise[problem.name], "candidate", by_steps,
                                             self.samplers, lambda start, p=problem: self.reference(p, start), scorer)
            for row in rows:
                cell = f"{row['sampler']}@{row['steps']}"
                table.setdefault(cell, []).append(row["ode_error"])
                if scorer:
                    table.setdefault(DETAIL + cell, []).append(row["score"])
        return table

    def ratios(self, values: dict[str, Any]) -> dict[str, float]:
        shape = shape_from(values)
        return self.sigma_ratios({n: simple_kes.get_sigmas_karras_exponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX, **shape)
                                  .to(torch.float64) for n in self.steps})

    def sigma_ratios(self, by_steps: dict[int, torch.Tensor]) -> dict[str, float]:
        """Each cell's geometric mean over the problems of error(``by_steps``) / error(Karras rho 7)."""
        errors = self.errors(by_steps)
        return {cell: quality.geometric_mean([e / b for e, b in zip(values, self.baseline[cell])])
                for cell, values in errors.items()}


def target_cells(sampler: str | None) -> list[str]:
    return [f"{s}@{n}" for s in ((sampler,) if sampler else TARGET_SAMPLERS) for n in TARGET_STEPS]


def objective(ratios: dict[str, float], sampler: str | None = None) -> float:
    """J of the module docstring: all five samplers, or (``sampler``) a preset for that sampler alone."""
    targets = target_cells(sampler)
    others = [cell for cell in ratios if cell not in targets and not cell.startswith(DETAIL)]
    logs = {cell: math.log(r) for cell, r in ratios.items()}
    main = sum(logs[c] for c in targets) / len(targets)
    target_penalty = sum(max(0.0, logs[c] - math.log(TARGET_RATIO)) for c in targets) / len(targets)
    if sampler:
        excess = max(logs[c] for c in others) - math.log(ELSEWHERE_MARGIN)
        details = [logs[c] for c in logs if c.startswith(DETAIL)]
        detail_excess = sum(details) / len(details) - math.log(DETAIL_MARGIN)
        return (main + TARGET_WEIGHT * target_penalty
                + CONSTRAINT_WEIGHT * (max(0.0, excess) + max(0.0, detail_excess)))
    elsewhere = sum(max(0.0, logs[c]) for c in others) / len(others)
    return main + TARGET_WEIGHT * target_penalty + ELSEWHERE_WEIGHT * elsewhere


_EVALUATOR: Evaluator | None = None
_SAMPLER: str | None = None


def _init_worker(batch: int, steps: tuple[int, ...], sampler: str | None) -> None:
    global _EVALUATOR, _SAMPLER
    _EVALUATOR = Evaluator(batch, steps, (sampler,) if sampler else SAMPLERS, detail=bool(sampler))
    _SAMPLER = sampler


def evaluate(unit: np.ndarray) -> dict[str, Any]:
    """One candidate: its parameters, config values, ratios and objective (inf if invalid)."""
    params = to_params(np.asarray(unit, dtype=float), _SAMPLER)
    values = config_values(params)
    record = {"unit": [float(x) for x in np.clip(unit, 0, 1)], "params": params, "values": values}
    problems = validation_problems(values)
    if problems:
        return {**record, "objective": math.inf, "ratios": {}, "invalid": problems[0]}
    ratios = _EVALUATOR.ratios(values)
    return {**record, "objective": objective(ratios, _SAMPLER), "ratios": ratios}


def refine(args: tuple[np.ndarray, int]) -> list[dict[str, Any]]:
    """Nelder-Mead from ``start`` for ``evaluations`` objective calls; every evaluated point is returned."""
    start, evaluations = args
    history: list[dict[str, Any]] = []

    def f(unit: np.ndarray) -> float:
        result = evaluate(unit)
        history.append(result)
        return result["objective"] if math.isfinite(result["objective"]) else 10.0

    minimize(f, start, method="Nelder-Mead",
             options={"maxfev": evaluations, "initial_simplex": simplex(start), "xatol": 1e-3, "fatol": 1e-4})
    return history


def simplex(start: np.ndarray, size: float = 0.08) -> np.ndarray:
    points = [start]
    for i in range(len(start)):
        point = start.copy()
        point[i] = point[i] + size if point[i] + size <= 1 else point[i] - size
        points.append(point)
    return np.array(points)


# --- reporting ---------------------------------------------------------------------------------------

def euler_score(result: dict[str, Any]) -> float:
    """Mean log ratio of the euler target cells, inf unless every other cell is no worse than Karras (2%)."""
    ratios = result["ratios"]
    if not ratios:
        return math.inf
    euler = [f"euler@{n}" for n in TARGET_STEPS]
    if any(r > 1.02 for cell, r in ratios.items() if cell not in euler and not cell.startswith(DETAIL)):
        return math.inf
    return sum(math.log(ratios[c]) for c in euler) / len(euler)


def format_result(result: dict[str, Any], steps: tuple[int, ...], samplers: tuple[str, ...]) -> str:
    p = result["params"]
    lines = [f"J = {result['objective']:.4f}   f={p['f']:.3f} E={p['E']:.3f} u={p['u']:.3f} l0={p['l0']:.2f} "
             f"l1={p['l1']:.2f} s={p['s']:.3f} rho={p['rho']:.2f}"]
    lines.append("    " + " ".join(f"{s:>8}" for s in ["steps"] + [str(n) for n in steps]))
    for sampler in samplers:
        lines.append("    " + f"{sampler:>8} " + " ".join(f"{result['ratios'][f'{sampler}@{n}']:8.3f}" for n in steps))
    for sampler in samplers:
        if f"{DETAIL}{sampler}@{steps[0]}" in result["ratios"]:
            lines.append("    " + f"{'detail':>8} " + " ".join(f"{result['ratios'][f'{DETAIL}{sampler}@{n}']:8.3f}"
                                                          for n in steps))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small batch, few candidates")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write every evaluated candidate as JSON")
    parser.add_argument("--candidates", type=int, help="random candidates (default 240, 150 with --sampler, quick 12)")
    parser.add_argument("--refine", type=int, help="Nelder-Mead evaluations per start (default 100, quick 6)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sampler", choices=SAMPLERS, help="search a preset for this sampler alone (see above)")
    arguments = parser.parse_args(argv)
    sampler = arguments.sampler
    samplers = (sampler,) if sampler else SAMPLERS
    batch = 64 if arguments.quick else 512
    count = arguments.candidates or (12 if arguments.quick else 150 if sampler else 240)
    evaluations = arguments.refine or (6 if arguments.quick else 100)
    steps = STEPS
    started = time.perf_counter()
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731

    rng = np.random.default_rng(SEED)
    units = [to_unit(KARRAS_LIKE, sampler)] + [rng.uniform(0, 1, len(search_box(sampler))) for _ in range(count)]
    context = multiprocessing.get_context("fork")
    with context.Pool(arguments.workers, initializer=_init_worker, initargs=(batch, steps, sampler)) as pool:
        log(f"random search: {len(units)} candidates, batch {batch}, {arguments.workers} workers")
        results = pool.map(evaluate, units, chunksize=1)
        log(f"  done in {time.perf_counter() - started:.0f} s; "
            f"{sum(not math.isfinite(r['objective']) for r in results)} rejected by validation")
        ranked = sorted((r for r in results if math.isfinite(r["objective"])), key=lambda r: r["objective"])
        starts = [np.array(ranked[0]["unit"])]
        for r in ranked[1:]:
            if np.abs(np.array(r["unit"]) - starts[0]).max() > 0.15:
                starts.append(np.array(r["unit"]))
                break
        log(f"refinement: Nelder-Mead from {len(starts)} starts, {evaluations} evaluations each")
        for history in pool.map(refine, [(s, evaluations) for s in starts], chunksize=1):
            results += history
    elapsed = time.perf_counter() - started

    valid = sorted((r for r in results if math.isfinite(r["objective"])), key=lambda r: r["objective"])
    karras = results[0]
    scope = f"a preset for {sampler}" if sampler else "all five samplers"
    print(f"# KES preset search: {scope} (search problems only, sd-clamped denoiser, ODE error / Karras rho 7)\n")
    print(f"{len(results)} evaluations ({count} random + Karras-like + refinement), batch {batch}, seed {SEED}, "
          f"{elapsed:.0f} s\n")
    print("Karras-like point (should be all 1.000):\n" + format_result(karras, steps, samplers) + "\n")
    print("Top candidates by objective:\n")
    seen: list[np.ndarray] = []
    shown = 0
    for r in valid:
        if any(np.abs(np.array(r["unit"]) - s).max() < 0.02 for s in seen):
            continue
        seen.append(np.array(r["unit"]))
        print(f"{shown + 1}. " + format_result(r, steps, samplers) + "\n")
        shown += 1
        if shown == 8:
            break
    picks = {sampler or "balanced": valid[0]}
    euler_best = None if sampler else min(valid, key=euler_score)
    if euler_best and math.isfinite(euler_score(euler_best)) and euler_best is not karras:  # Karras is no pick
        picks["euler"] = euler_best
    for name, r in picks.items():
        print(f"Pick '{name}':\n" + format_result(r, steps, samplers))
        print("    config (rounded to 4 significant digits): " + json.dumps(config_values(r["params"], 4)) + "\n")
    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps({"seed": SEED, "batch": batch, "sampler": sampler, "run_seconds": elapsed,
                                              "picks": {k: {**v, "rounded": config_values(v["params"], 4)}
                                                        for k, v in picks.items()},
                                              "results": results}, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
