"""The search over pairs of base schedules (benchmarks/kes_bench/base_search.py)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench import base_search, report  # noqa: E402
from kes_bench.schedules import GUIDE_SCHEDULES, compared_schedules  # noqa: E402
from simple_kes import get_sigmas_karras_exponential, named_schedules  # noqa: E402

pytestmark = pytest.mark.bench

CELLS = [f"{s}@{n}" for s in base_search.SAMPLERS for n in base_search.TARGET_STEPS]


def ratios(error: float = 1.0, detail: float = 1.0) -> dict[str, float]:
    return {**{cell: error for cell in CELLS}, **{base_search.DETAIL + cell: detail for cell in CELLS}}


def test_karras_scores_the_aims_margin_and_a_gain_beyond_the_aim_counts_in_full():
    assert base_search.exact_objective(ratios()) == pytest.approx(math.log(1 / 0.9))
    assert base_search.exact_objective(ratios(0.8)) == pytest.approx(math.log(0.8))


def test_worse_fine_detail_is_a_heavy_penalty():
    assert base_search.exact_objective(ratios(0.8, detail=1.05)) > base_search.exact_objective(ratios())


def test_pairs_are_unordered_because_a_blend_reversed_is_the_same_schedule():
    """From A to B at logits (l0, l1) is from B to A at (-l0, -l1): screening one order of each pair is enough."""
    forward = get_sigmas_karras_exponential(12, 0.0292, 14.6146, **base_search.blend_values(("gits", "normal"), (-1, 2)))
    backward = get_sigmas_karras_exponential(12, 0.0292, 14.6146, **base_search.blend_values(("normal", "gits"), (1, -2)))
    torch.testing.assert_close(forward, backward, rtol=1e-6, atol=0)


def test_a_blend_keeps_karras_ends_and_never_includes_ddim_uniform():
    """Every base in the search starts at sigma_max, so every candidate has Karras's ends."""
    assert "ddim_uniform" not in base_search.BASES
    for pair in [("karras", "gits"), ("linear_quadratic", "align_your_steps_32_sd15")]:
        sigmas = get_sigmas_karras_exponential(10, 0.0292, 14.6146, **base_search.blend_values(pair, (0.3, -0.2)))
        assert sigmas[0].item() == pytest.approx(14.6146, rel=1e-4)


def test_the_aim_needs_all_four_conditions_on_held_out_ground():
    model = {cell: {"fid": 0.85, "ode_error": 0.8, "accuracy_change": 0.0} for cell in CELLS}
    judged = {"held_out_problems": ratios(0.85, 0.99), "digits-b": model}
    assert all(base_search.aim_met(judged).values())
    model["euler@20"]["fid"] = 0.95
    assert base_search.aim_met(judged) == {"ode_error": True, "fid": False, "fine_detail": True,
                                           "class_accuracy": True}


def test_the_benchmarks_compare_the_schedules_of_the_guides_over_sd_range():
    schedules = compared_schedules()
    for label, name in GUIDE_SCHEDULES.items():
        np.testing.assert_array_equal(schedules[label](10).numpy(),
                                      named_schedules.get_sigmas(name, 10, 0.0292, 14.6146).numpy())


@pytest.mark.slow
def test_quick_run_screens_refines_chooses_on_the_search_model_and_judges_once(tmp_path, capsys):
    assert base_search.main(["--quick", "--workers", "1", "--results", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "base_search.json").read_text(encoding="utf-8"))
    pairs = {tuple(r["pair"]) for r in saved["screen"]}
    assert len(pairs) == 6 and len(saved["screen"]) == 6 * len(base_search.SCREEN_BLENDS)
    assert saved["karras_like"]["ratios"]["euler@10"] == pytest.approx(1.0)
    for finalist in saved["finalists"]:
        assert finalist["objective"] < saved["karras_like"]["objective"] and "learned" in finalist
    if saved["pick"]:
        assert saved["pick"] == min(saved["finalists"], key=lambda r: r["learned"]["objective"])
        assert set(saved["judged"]) == {"held_out_problems", "digits-b"}
    sections = report.parse_sections((tmp_path / "base_search.md").read_text(encoding="utf-8"))
    assert set(sections) == {"screen", "pick", "judged"}
    capsys.readouterr()


def test_the_published_search_regenerates_from_its_json_and_shipped_no_preset_it_did_not_earn():
    from simple_kes.app import presets
    from test_bench_results import assert_published_results_regenerate

    published = Path(__file__).parents[1] / "benchmarks" / "results" / "base_search.md"
    saved = assert_published_results_regenerate(published, base_search.build_report, base_search.render)
    shipped_blends = {(presets.preset_values(name)["blend_from"], presets.preset_values(name)["blend_to"])
                      for name in presets.preset_paths()}
    if saved["judged"] is None or not all(base_search.aim_met(saved["judged"]).values()):
        assert shipped_blends == {("karras", "exponential")}
