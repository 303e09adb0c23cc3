"""The guidance benchmark on the digit models: the quick mode end to end, counted model evaluations, and
the published results file against its JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from kes_bench import report  # noqa: E402
from kes_bench.learned import guidance_methods  # noqa: E402

pytestmark = pytest.mark.bench
PUBLISHED = BENCHMARKS / "results" / f"{guidance_methods.NAME}.md"


@pytest.mark.slow
def test_quick_mode_writes_every_section_and_counts_half_the_evaluations_for_single_prediction(tmp_path, capsys):
    assert guidance_methods.main(["--quick", "--workers", "1", "--results", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / f"{guidance_methods.NAME}.json").read_text(encoding="utf-8"))
    sections = report.parse_sections((tmp_path / f"{guidance_methods.NAME}.md").read_text(encoding="utf-8"))
    assert set(sections) == {"verdict", "claims", "look", "tables", "evaluations"}
    evaluations = {guidance_methods.method_name(row["method"], row["scale"]): row["evaluations_per_sample"]
                   for row in saved["rows"]}
    assert evaluations["cond only"] == evaluations["TNR single"] == 10, "one prediction per step"
    assert evaluations["CFG 2"] == evaluations["CFG++ 0.6"] == evaluations["TNR 2"] == 20
    baseline = next(row for row in saved["rows"] if (row["method"], row["scale"]) == guidance_methods.BASELINE)
    assert baseline["fid_ratio"] == 1.0
    assert (tmp_path / f"{guidance_methods.NAME}.png").stat().st_size > 10_000


def test_the_published_results_are_printed_from_their_json_and_regenerate_from_it():
    from test_bench_results import assert_published_results_regenerate

    saved = assert_published_results_regenerate(PUBLISHED, guidance_methods.build_report, guidance_methods.render)
    assert saved["settings"]["methods"] == [list(method) for method in guidance_methods.all_methods()]
