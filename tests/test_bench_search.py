"""The preset search's objective and parameterization (benchmarks/kes_bench/search.py)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

# benchmarks/ holds the command lines and their library, kes_bench; it is not installed.
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench import search  # noqa: E402

pytestmark = pytest.mark.bench


def ratios(**cells: float) -> dict[str, float]:
    """Every euler cell at Karras's level (ratio 1) except those given, as 'euler@10' -> ratio."""
    table = {f"euler@{n}": 1.0 for n in search.STEPS}
    table.update({f"{search.DETAIL}euler@{n}": 1.0 for n in search.STEPS})
    table.update({key.replace("_at_", "@").replace("detail_", search.DETAIL): value for key, value in cells.items()})
    return table


def test_karras_itself_pays_both_margins():
    """Karras rho 7 is not good enough: the objective asks for 10% at 10 and 20 steps and 1% elsewhere."""
    expected = search.TARGET_WEIGHT * math.log(1 / search.TARGET_RATIO) + search.CONSTRAINT_WEIGHT * math.log(
        1 / search.ELSEWHERE_MARGIN)
    assert search.objective(ratios(), "euler") == pytest.approx(expected)


def test_a_gain_in_the_target_cells_counts_in_full():
    """With the other step counts 2% better than Karras and detail kept, the objective is the mean log
    ratio of the 10- and 20-step cells plus the shortfall from the 0.9 target."""
    better_elsewhere = {f"euler_at_{n}": 0.98 for n in (5, 8, 15, 30, 50)}
    value = search.objective(ratios(euler_at_10=0.85, euler_at_20=0.95, **better_elsewhere), "euler")
    assert value == pytest.approx((math.log(0.85) + math.log(0.95)) / 2
                                  + search.TARGET_WEIGHT * math.log(0.95 / search.TARGET_RATIO) / 2)


def test_worse_elsewhere_or_worse_fine_detail_is_a_heavy_penalty():
    """A gain at 10 and 20 steps bought with 5% worse at 50 steps, or with coarser detail, is worse than Karras."""
    karras = search.objective(ratios(), "euler")
    gain = {"euler_at_10": 0.9, "euler_at_20": 0.9, **{f"euler_at_{n}": 0.98 for n in (5, 8, 15, 30, 50)}}
    assert search.objective(ratios(**gain), "euler") < karras
    assert search.objective(ratios(**{**gain, "euler_at_50": 1.05}), "euler") > karras
    assert search.objective(ratios(**gain, detail_euler_at_5=1.4), "euler") > karras


def test_the_searched_box_keeps_karras_ends_and_round_trips():
    """Only the blend and rho move; sigma_max_factor, the ramps and sharpness stay at Karras's ends."""
    unit = np.array([0.2, 0.7, 0.4])
    params = search.to_params(unit)
    np.testing.assert_allclose(search.to_unit(params), unit)
    values = search.config_values(params)
    assert values["sigma_max_factor"] == 1.0 and values["sharpness"] == 1.0
    assert values["initial_step_size"] * values["initial_noise_scale"] * values["sigma_max_factor"] == 1.0
    assert values["final_step_size"] == values["final_noise_scale"] == 1.0


def test_a_candidate_the_config_pipeline_refuses_is_rejected_with_its_reason():
    """The search uses the one validation pipeline, so a preset it picks always loads."""
    assert search.validation_problem(search.config_values(search.KARRAS_LIKE)) is None
    bad = {**search.config_values(search.KARRAS_LIKE), "rho": -1.0}
    assert "rho" in search.validation_problem(bad)
