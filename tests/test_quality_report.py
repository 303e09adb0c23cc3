"""The quality benchmark's summary: error ratios to Karras and their bootstrap intervals (benchmarks/quality.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))  # benchmarks/ is not a package

import quality  # noqa: E402


def row(problem: str, schedule: str, squared_errors: torch.Tensor) -> dict:
    return {"problem": problem, "held_out": False, "variant": "exact", "schedule": schedule, "sampler": "euler",
            "steps": 10, "ode_error": float(squared_errors.mean().sqrt()), quality.SQUARED_ERRORS: squared_errors}


def summary(rows: list[dict]) -> dict:
    return quality.summary_ratios(rows, "exact", False, ["candidate"], (10,))["candidate"]["euler@10"]


def test_ratio_is_the_geometric_mean_over_problems_of_rms_ratios():
    """Twice Karras's squared error on one problem and half on another: ratios sqrt(2) and 1/sqrt(2), mean 1."""
    errors = torch.rand(200, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = [row("a", quality.BASELINE, errors), row("a", "candidate", 2 * errors),
            row("b", quality.BASELINE, errors), row("b", "candidate", errors / 2)]
    ratio, low, high = summary(rows)
    assert ratio == pytest.approx(1.0)
    # The ratio on each problem does not depend on which starts are drawn, so neither does the mean.
    assert low == pytest.approx(1.0) and high == pytest.approx(1.0)


def test_interval_is_wide_when_a_few_starts_decide_the_rms():
    """One start far off (a mode switch) decides the RMS: the interval must show that the ratio is luck."""
    generator = torch.Generator().manual_seed(1)
    small = torch.rand(1000, generator=generator, dtype=torch.float64) * 1e-4
    switched = small.clone()
    switched[17] = 1.0
    ratio, low, high = summary([row("a", quality.BASELINE, switched), row("a", "candidate", small)])
    assert ratio < 0.3  # the candidate looks 4x better...
    assert high > 0.9  # ...but resamples that miss start 17 show no difference at all
    assert low <= ratio <= high

    spread = torch.rand(1000, generator=generator, dtype=torch.float64)
    ratio, low, high = summary([row("a", quality.BASELINE, spread), row("a", "candidate", 0.8 * spread)])
    assert low == pytest.approx(ratio) and high == pytest.approx(ratio)  # a uniform gain is no luck
