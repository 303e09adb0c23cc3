"""The quality benchmark's statistics: ratios to Karras, their bootstrap intervals, the figure's curves
(benchmarks/kes_bench/quality.py, statistics.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

# benchmarks/ holds the command lines and their library, kes_bench; it is not installed.
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench import quality  # noqa: E402
from kes_bench.evaluation import SQUARED_DISTANCES, SQUARED_ERRORS  # noqa: E402
from kes_bench.schedules import BASELINE  # noqa: E402

pytestmark = pytest.mark.bench

CANDIDATE = "candidate"


def row(problem: str, schedule: str, squared: torch.Tensor, steps: int = 10, sampler: str = "euler") -> dict:
    """A result row as a run makes it: the RMS and the per-start squared errors (the same as distances)."""
    rms = float(squared.mean().sqrt())
    return {"problem": problem, "held_out": False, "variant": "sd-clamped", "schedule": schedule,
            "sampler": sampler, "steps": steps, "nfe": steps, "ode_error": rms, "score": rms,
            SQUARED_ERRORS: squared, SQUARED_DISTANCES: squared}


def saved_run(rows: list[dict], schedules: dict | None = None) -> dict:
    """What ``quality.run`` saves for these rows (every problem a search data set)."""
    problems = list(dict.fromkeys(r["problem"] for r in rows))
    steps = sorted({r["steps"] for r in rows})
    names = list(dict.fromkeys([BASELINE] + [r["schedule"] for r in rows]))
    schedules = schedules or {name: {str(n): [14.6 - k, 0.03, 0.0] for n in steps} for k, name in enumerate(names)}
    return {"benchmark": "quality",
            "settings": {"problem_names": problems, "steps": steps, "batch": len(rows[0][SQUARED_ERRORS]),
                         "variants": ["sd-clamped"], "samplers": sorted({r["sampler"] for r in rows}),
                         "timing_rounds": 1},
            "problems": {p: {"held_out": False, "data_set": True, "description": "test", "data_std": 1.0,
                             "reference_error": 1e-12, "score_label": "nearest-point distance",
                             "exact_ode_score": 0.0} for p in problems},
            "schedules": schedules,
            "time_ratio_to_karras": {name: {str(n): 1.0 for n in steps} for name in names},
            "intervals": quality.bootstrap_intervals(rows),
            "results": [{k: v for k, v in r.items() if k not in (SQUARED_ERRORS, SQUARED_DISTANCES)} for r in rows]}


def ratio(rows: list[dict], metric: str = quality.ODE_ERROR, steps: int = 10) -> list:
    return quality.Saved(saved_run(rows)).ratio(metric, "sd-clamped", "search", CANDIDATE, "euler", steps)


def test_ratio_is_the_geometric_mean_over_problems_of_rms_ratios():
    """Twice Karras's squared error on one problem and half on another: ratios sqrt(2) and 1/sqrt(2), mean 1;
    and since neither ratio depends on which starts are drawn, neither does the interval."""
    errors = torch.rand(200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = [row("a", BASELINE, errors), row("a", CANDIDATE, 2 * errors),
            row("b", BASELINE, errors), row("b", CANDIDATE, errors / 2)]
    for metric in (quality.ODE_ERROR, quality.FINE_DETAIL):
        value, low, high = ratio(rows, metric)
        assert value == pytest.approx(1.0)
        assert low == pytest.approx(1.0) and high == pytest.approx(1.0)


def test_interval_is_wide_when_a_few_starts_decide_the_rms():
    """One start far off (a mode switch) decides the RMS: the interval must show that the ratio is luck,
    while a gain on every start is no luck at all."""
    generator = torch.Generator().manual_seed(1)
    small = torch.rand(1000, generator=generator, dtype=torch.float64) * 1e-4
    switched = small.clone()
    switched[17] = 1.0
    value, low, high = ratio([row("a", BASELINE, switched), row("a", CANDIDATE, small)])
    assert value < 0.3  # the candidate looks 4x better...
    assert high > 0.9  # ...but resamples that miss start 17 show no difference at all
    assert low <= value <= high

    spread = torch.rand(1000, generator=generator, dtype=torch.float64)
    value, low, high = ratio([row("a", BASELINE, spread), row("a", CANDIDATE, 0.8 * spread)])
    assert low == pytest.approx(value) and high == pytest.approx(value)


def two_step_rows() -> list[dict]:
    """Karras and a candidate on two problems at 10 and 20 steps with both summary samplers; the candidate
    is 2x and 1/2x Karras's RMS at 10 steps (mean 1), 0.9x on both at 20."""
    base = torch.rand(64, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    rows = []
    for sampler in quality.SUMMARY_SAMPLERS:
        for problem, factor_10 in (("a", 2.0), ("b", 0.5)):
            for steps, factor in ((10, factor_10), (20, 0.9)):
                rows += [row(problem, BASELINE, base, steps, sampler),
                         row(problem, CANDIDATE, base * factor ** 2, steps, sampler)]
    return rows


def test_the_figure_draws_the_tables_statistic():
    """The figure's points at the tables' step counts are the tables' cells, for every sampler."""
    results = saved_run(two_step_rows())
    built = quality.build_report(results)
    curves = built["figure"]["groups"]["search"]["samplers"]
    for sampler in quality.SUMMARY_SAMPLERS:
        assert curves[sampler]["curves"][CANDIDATE] == pytest.approx([1.0, 0.9])
        assert curves[sampler]["curves"][BASELINE] == pytest.approx([1.0, 1.0])
        for position, steps in enumerate(curves[sampler]["steps"]):
            table_cell = built["ode-error-search"]["rows"][CANDIDATE][f"{sampler}@{steps}"]
            assert curves[sampler]["curves"][CANDIDATE][position] == table_cell[0]


def test_schedules_with_the_same_sigmas_are_shown_once():
    """Polyexponential at rho 1 is Exponential up to float rounding: one row and one line, naming both."""
    rows = two_step_rows()
    rows += [{**r, "schedule": "twin"} for r in rows if r["schedule"] == CANDIDATE]
    sigmas = {str(n): [14.6, 1.0, 0.03, 0.0] for n in (10, 20)}
    twin_sigmas = {n: [s * (1 + 1e-7) for s in values] for n, values in sigmas.items()}
    results = saved_run(rows, {BASELINE: {str(n): [14.6, 2.0, 0.03, 0.0] for n in (10, 20)}, CANDIDATE: sigmas,
                               "twin": twin_sigmas})
    built = quality.build_report(results)
    assert list(built["ode-error-search"]["rows"]) == [BASELINE, CANDIDATE]
    assert built["figure"]["same_as"] == {"twin": CANDIDATE}
    text = quality.summary_text(built["ode-error-search"])
    assert f"| {CANDIDATE} = twin |" in text and "twin gives the same sigmas as candidate" in text


def test_a_schedule_that_differs_anywhere_is_shown_on_its_own():
    """Sigmas that differ by more than float rounding at any step count are another schedule."""
    same = {"10": [14.6, 1.0, 0.0], "20": [14.6, 1.0, 0.0]}
    other = {"10": [14.6, 1.0, 0.0], "20": [14.6, 1.001, 0.0]}
    assert quality.coinciding_schedules({"a": same, "b": dict(same)}) == {"b": "a"}
    assert quality.coinciding_schedules({"a": same, "b": other}) == {}
