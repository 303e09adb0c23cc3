"""The quality benchmark's summary: error ratios to Karras and their bootstrap intervals (benchmarks/quality.py)."""

from __future__ import annotations

import json
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


def curve_row(problem: str, schedule: str, sampler: str, steps: int, error: float) -> dict:
    return {"problem": problem, "held_out": False, "variant": "sd-clamped", "schedule": schedule, "sampler": sampler,
            "steps": steps, "nfe": steps, "ode_error": error, "score": error / 10}


def curve_rows() -> list[dict]:
    """Karras errors 0.4 and 0.1 on two problems at 10 steps, 0.2 and 0.05 at 20; the candidate is twice
    Karras on the first problem and half on the second at 10 steps, 0.9 x Karras on both at 20."""
    rows = []
    for sampler in quality.SUMMARY_SAMPLERS:
        for problem, scale, factor_10 in (("a", 1.0, 2.0), ("b", 0.25, 0.5)):
            rows += [curve_row(problem, quality.BASELINE, sampler, 10, 0.4 * scale),
                     curve_row(problem, quality.BASELINE, sampler, 20, 0.2 * scale),
                     curve_row(problem, "candidate", sampler, 10, 0.4 * scale * factor_10),
                     curve_row(problem, "candidate", sampler, 20, 0.2 * scale * 0.9)]
    return rows


def test_error_curve_gives_nfe_error_and_the_ratio_to_karras_per_step_count():
    nfe, error, ratio = quality.error_curve(curve_rows(), "sd-clamped", "euler", "candidate")
    assert nfe == [10, 20]
    assert error == pytest.approx([(0.8 * 0.05) ** 0.5, (0.18 * 0.045) ** 0.5])
    assert ratio == pytest.approx([1.0, 0.9])
    assert quality.error_curve(curve_rows(), "sd-clamped", "euler", quality.BASELINE)[2] == pytest.approx([1, 1])


def test_replot_draws_the_figure_from_a_saved_run(tmp_path):
    saved = tmp_path / "quality.json"
    saved.write_text(json.dumps({"results": curve_rows(), "schedules": {quality.BASELINE: {}, "candidate": {}},
                                 "settings": {"variants": ["sd-clamped"]}}), encoding="utf-8")
    figure = tmp_path / "figure.png"
    assert quality.main(["--replot", str(saved), "--plot", str(figure)]) == 0
    assert figure.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(SystemExit, match="--replot needs --plot"):
        quality.main(["--replot", str(saved)])


def test_fine_detail_summary_is_the_score_ratio_to_karras_in_the_headline_cells():
    lines = quality.detail_summary(curve_rows(), [quality.BASELINE, "candidate"], (10, 20))
    assert lines == [[quality.BASELINE, "1.00", "1.00", "1.00", "1.00"], ["candidate", "1.00", "0.90", "1.00", "0.90"]]
    assert quality.format_plain(0.004) == "4.0e-03" and quality.format_plain(None) == ""
