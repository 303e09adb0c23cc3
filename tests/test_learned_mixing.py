"""The iterative-mixing benchmark on the digit models: the quick mode end to end, its measures on known
inputs, and the published results file against its JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from kes_bench import report  # noqa: E402
from kes_bench.learned import mixing_methods  # noqa: E402

pytestmark = pytest.mark.bench
PUBLISHED = BENCHMARKS / "results" / f"{mixing_methods.NAME}.md"


def test_high_frequency_energy_is_what_a_half_size_image_cannot_hold():
    smooth = mixing_methods.upscale(torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(0)))
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 2.0 - 1.0
    assert mixing_methods.high_frequency_energy(torch.zeros(2, 1, 32, 32)) == 0.0
    assert mixing_methods.high_frequency_energy(checker.expand(2, 1, 32, 32)) == pytest.approx(1.0)
    assert mixing_methods.high_frequency_energy(smooth) < 0.05 * mixing_methods.high_frequency_energy(
        smooth + 0.5 * torch.randn(smooth.shape, generator=torch.Generator().manual_seed(1)))


def test_img2img_strength_takes_the_schedules_tail():
    sigmas = mixing_methods.strength_schedule(0.5)
    assert len(sigmas) == mixing_methods.STEPS // 2 + 1 and sigmas[-1] == 0


@pytest.mark.slow
def test_quick_mode_writes_its_sections_and_counts_the_evaluations(tmp_path, capsys):
    assert mixing_methods.main(["--quick", "--workers", "1", "--results", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / f"{mixing_methods.NAME}.json").read_text(encoding="utf-8"))
    rows = {row["method"]: row for row in saved["models"][0]["rows"]}
    assert rows["upscale only"]["evaluations_per_sample"] == 0
    assert rows["img2img strength 0.5"]["evaluations_per_sample"] == mixing_methods.STEPS
    assert rows["mixing cosine alpha 1"]["evaluations_per_sample"] == 2 * mixing_methods.STEPS
    assert rows["img2img strength 0.5"]["fid_ratio"][0] == 1.0
    sections = report.parse_sections((tmp_path / f"{mixing_methods.NAME}.md").read_text(encoding="utf-8"))
    assert set(sections) == {"results", "findings"}
    assert (tmp_path / f"{mixing_methods.NAME}.png").stat().st_size > 10_000


def test_the_published_results_are_printed_from_their_json_and_regenerate_from_it():
    from test_bench_results import assert_published_results_regenerate

    saved = assert_published_results_regenerate(PUBLISHED, mixing_methods.build_report, mixing_methods.render)
    assert [row["method"] for row in saved["models"][0]["rows"]] == [m.name for m in mixing_methods.all_methods()]
