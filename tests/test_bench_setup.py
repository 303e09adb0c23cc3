"""bench_setup.py: the README's set-up cost comes from a measured run, rewritten from its JSON alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from kes_bench import report, setup_cost  # noqa: E402

pytestmark = pytest.mark.bench


def test_the_section_states_the_measured_time_disk_and_second_run():
    data = {"first_seconds": 201.0, "venv_bytes": 6_600_000_000, "second_seconds": [9.0, 3.8, 4.2, 4.4, 3.9],
            "part_bytes": {"nvidia": 3_200_000_000, "triton": 900_000_000, "torch": 1_200_000_000}}
    text = setup_cost.section(data)
    assert "took 3.4 minutes" in text and "6.6 GB in `.venv`, 5.3 GB of it" in text
    assert "NVIDIA's CUDA libraries, Triton and torch" in text
    assert "takes 4.2 s" in text, "the median of the second runs, not the first or the mean"


def test_report_only_rewrites_the_committed_md_from_its_json(tmp_path):
    """The quoted setup.md is exactly what its JSON gives (no hand-edited figure)."""
    setup_cost.main(["--report-only", str(report.RESULTS / "setup.json"), "--results", str(tmp_path)])
    written = report.parse_sections((tmp_path / "setup.md").read_text(encoding="utf-8"))
    committed = report.parse_sections((report.RESULTS / "setup.md").read_text(encoding="utf-8"))
    assert written == committed and list(written) == ["setup"]
