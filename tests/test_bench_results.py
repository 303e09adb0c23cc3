"""The benchmarks' results files (benchmarks/results/<name>.md and .json): named sections the docs quote,
every figure in them printed from the JSON beside them, and regeneration from a saved JSON alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
# benchmarks/ holds the command lines and their library, kes_bench; it is not installed.
sys.path.insert(0, str(BENCHMARKS))

from kes_bench import bound, core, quality, report  # noqa: E402

pytestmark = pytest.mark.bench

NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# Digits that name something rather than state a figure: p95 (the 95th percentile), "Karras rho 7" (the
# baseline's name), "below 1 is better", "SD 1.x".
NAMES = {"95", "7", "1"}
# A run small enough for a test that still fills every section: a data set (search) and a mixture
# (held-out), both summary samplers at the summary step counts, both denoiser variants.
TINY_QUALITY = quality.Settings(("data-16d", "ring-2d"), (10, 20), 16, ("exact", "sd-clamped"),
                                ("euler", "dpmpp_2m"), 1)
TINY_CORE = core.Settings(timing_rounds=1, batch_seconds=0.001, saves_per_series=2, load_repeats=2,
                          validation_repeats=1, startup_rounds=1)


def printable_numbers(data) -> set[str]:
    """Every digit string the report's formatters can make of the numbers in a JSON subtree (and the digits
    in its strings, such as 'euler@10'): what a section built from it may contain."""
    tokens: set[str] = set()

    def visit(value) -> None:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            v = abs(float(value))
            texts = [str(abs(value)) if isinstance(value, int) else "", report.ratio(v), report.factor(v),
                     report.milliseconds(v), report.microseconds(v), report.seconds(v), f"{abs(v - 1) * 100:.0f}",
                     f"{v * 100:.0f}", f"{v:g}", f"{v:.3f}", f"{v:.2f}", f"{v:.4g}", f"{v:.3g}", f"{v:.2g}",
                     f"{v:.1e}", f"{v:.0e}"]
            for text in texts:
                tokens.update(NUMBER.findall(text))
        elif isinstance(value, str):
            tokens.update(NUMBER.findall(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(key)
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)
    visit(data)
    return tokens


def assert_figures_come_from_the_json(md_path: Path) -> dict:
    """Each section's digits are printable from the JSON's report entry of the same name; returns the JSON."""
    saved = json.loads(md_path.with_suffix(".json").read_text(encoding="utf-8"))
    sections = report.parse_sections(md_path.read_text(encoding="utf-8"))
    assert set(sections) <= set(saved["report"])
    for name, text in sections.items():
        unexplained = set(NUMBER.findall(text)) - printable_numbers(saved["report"][name]) - NAMES
        assert not unexplained, f"section {name}: {sorted(unexplained)} are not numbers of its JSON"
    return saved


def assert_published_results_regenerate(md_path: Path, build_report, render) -> dict:
    """A published results file: every figure printed from its JSON, and every section what the report code
    makes of that JSON now (so a change of the report code is followed by --report-only). Returns the JSON."""
    saved = assert_figures_come_from_the_json(md_path)
    regenerated = render(build_report(saved))
    assert report.parse_sections(md_path.read_text(encoding="utf-8")) == {name: text.strip()
                                                                          for name, text in regenerated}
    return saved


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every markdown table in ``text``, as cell lists."""
    lines = text.splitlines()
    rows = []
    for line, following in zip(lines, lines[1:] + [""]):
        if line.startswith("| ") and not following.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.fixture(scope="module")
def quality_md(tmp_path_factory) -> Path:
    """A tiny real quality run, written as results files."""
    folder = tmp_path_factory.mktemp("quality")
    results = quality.run(TINY_QUALITY, workers=1, log=lambda message: None)
    results = {"written_by": report.run_record(["--tiny"], "quality.py", 1.0), **results}
    return quality.write(results, folder, plot=None)


@pytest.mark.slow
def test_quality_md_names_its_command_and_has_the_sections_the_docs_quote(quality_md):
    """The first line says which command wrote the file, when and on what; the README quotes these sections."""
    text = quality_md.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("<!-- written by `python benchmarks/quality.py --tiny` on ") and first.endswith(" -->")
    assert "torch " in first and "k-diffusion " in first and "CPUs" in first
    sections = report.parse_sections(text)
    for name in ("verdict", "ode-error-search", "ode-error-held-out", "fine-detail", "tuned-euler-by-steps", "speed",
                 "figure", "exact-denoiser"):
        assert sections.get(name), name
    assert len(sections["verdict"].splitlines()) == 3
    assert quality_md.with_name("quality.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_every_figure_in_the_quality_md_is_a_number_of_its_json(quality_md):
    """No section holds a hand-typed figure: every number is printed from the report entry beside it."""
    assert_figures_come_from_the_json(quality_md)


@pytest.mark.slow
def test_the_summary_tables_print_the_json_cells_in_place(quality_md):
    """Row by row and cell by cell, the ODE-error tables are the JSON's [ratio, low, high] cells."""
    saved = json.loads(quality_md.with_suffix(".json").read_text(encoding="utf-8"))
    sections = report.parse_sections(quality_md.read_text(encoding="utf-8"))
    for group in quality.GROUPS:
        numbers = saved["report"][f"ode-error-{group}"]
        expected = [[quality._schedule_label(name, numbers["same_as"])]
                    + [report.ratio_interval(cells[c]) for c in numbers["cells"]]
                    for name, cells in numbers["rows"].items()]
        assert table_rows(sections[f"ode-error-{group}"]) == expected


@pytest.mark.slow
def test_report_only_writes_the_same_sections_from_the_json_alone(quality_md, tmp_path):
    """A wording fix needs no rerun: the .md and the figure come back from the saved JSON, figure for figure."""
    assert quality.main(["--report-only", str(quality_md.with_suffix(".json")), "--results", str(tmp_path)]) == 0
    again = tmp_path / "quality.md"
    assert report.parse_sections(again.read_text(encoding="utf-8")) == report.parse_sections(
        quality_md.read_text(encoding="utf-8"))
    assert "report regenerated by `python benchmarks/quality.py --report-only" in again.read_text().splitlines()[0]
    assert (tmp_path / "quality.png").read_bytes().startswith(b"\x89PNG")


def bound_results() -> dict:
    """A saved schedule_bound run for one cell, with made-up ratios."""
    found = [{"cell": "euler@3", "objective": objective, "sigmas": [14.6146, 1.2, 0.0292, 0.0],
              "search": {"euler@3": ode, "detail:euler@3": detail}}
             for objective, ode, detail in ((bound.ODE_ONLY, 0.861, 1.754), (bound.KEEP_DETAIL, 0.913, 0.998))]
    return {"benchmark": bound.NAME, "written_by": report.run_record([], "schedule_bound.py", 2.0),
            "settings": {"cells": ["euler@3"], "evaluations": 10, "search_batch": 512, "check_batch": 1024,
                         "detail_weight": 20.0, "variant": "sd-clamped"},
            "found": found, "karras": {"euler@3": [14.6146, 0.9, 0.0292]},
            "held_out": {"euler@3": {"free-form, ODE error only": {"euler@3": 0.886, "detail:euler@3": 1.379},
                                     "free-form, keep detail": {"euler@3": 0.921, "detail:euler@3": 0.954},
                                     "KES `tuned-euler`": {"euler@3": 0.977, "detail:euler@3": 1.018}}}}


def test_bound_md_has_the_table_and_a_summary_computed_from_it(tmp_path):
    """The README's bound table and its prose: three decimals from the JSON, percentages computed."""
    md_path = bound.write(bound_results(), tmp_path)
    saved = assert_figures_come_from_the_json(md_path)
    sections = report.parse_sections(md_path.read_text(encoding="utf-8"))
    assert list(sections) == ["bound", "bound-summary", "sigmas"]
    assert table_rows(sections["bound"])[0] == ["euler@3", "free-form, ODE error only", "0.861", "1.754", "0.886",
                                                "1.379"]
    assert "ODE error 14% better on the search problems" in sections["bound-summary"]
    assert saved["report"]["bound"]["rows"][2]["ode_search"] is None  # the preset was not optimized


@pytest.fixture
def fast_startup(monkeypatch):
    """Start-up commands that take milliseconds, so the core benchmark's plumbing runs in a test."""
    quick = {name: [sys.executable, "-c", "pass"] for name in core.startup_commands()}
    monkeypatch.setattr(core, "startup_commands", lambda: quick)


@pytest.mark.slow
def test_core_md_has_the_sections_the_docs_quote(tmp_path, fast_startup):
    """A real run with the least repetition: every section, every figure from the JSON, ratios to the
    interpreter's own start-up and to Karras computed in the same run."""
    results = {"written_by": report.run_record(["--quick"], "bench_core.py", 1.0), "quick": True,
               **core.run(TINY_CORE)}
    md_path = core.write(results, tmp_path)
    saved = assert_figures_come_from_the_json(md_path)
    assert list(report.parse_sections(md_path.read_text(encoding="utf-8"))) == [
        "schedule-speed", "hot-reload", "load-cost", "redraw", "startup"]
    startup = saved["report"]["startup"]["commands"]
    assert startup["baseline"]["ratio_to_baseline"] == 1.0
    assert startup["help"]["ratio_to_baseline"] == startup["help"]["median_s"] / startup["baseline"]["median_s"]
    assert saved["report"]["hot-reload"]["missed"] == 0


def test_a_failing_start_up_command_is_an_error_naming_it():
    """A command that fails would time an error message, not a start-up: it stops the benchmark instead."""
    with pytest.raises(RuntimeError, match="exited with 3"):
        core.interleaved_process_times({"bad": [sys.executable, "-c", "raise SystemExit(3)"]}, rounds=1)


def test_quick_and_partial_runs_never_replace_the_quoted_results():
    """--quick, --problems and --samplers write to benchmarks/out; only a full run writes benchmarks/results."""
    assert quality.settings_from(quality.parse_arguments(["--quick"])) == quality.QUICK
    assert report.results_folder(None, partial=True) == report.OUT
    assert report.results_folder(None, partial=False) == report.RESULTS
    assert report.results_folder(Path("elsewhere"), partial=True) == Path("elsewhere")


def test_the_quick_quality_run_fills_every_section():
    """Quick mode keeps a mixture and a data set in each group, so a smoke run exercises every table."""
    chosen = quality.chosen_problems(quality.QUICK)
    for held_out in (False, True):
        assert {p.is_data_set for p in chosen if p.held_out == held_out} == {False, True}
    assert set(quality.SUMMARY_STEPS) <= set(quality.QUICK.steps)


@pytest.mark.parametrize("flag, value", [("--problems", "mix-8d,nope"), ("--samplers", "euler,ddim"),
                                         ("--variants", "")])
def test_unknown_names_are_refused_with_the_allowed_ones(flag, value):
    """A typo in a list flag is one line naming the flag, the bad name and what is allowed."""
    with pytest.raises(SystemExit, match=f"^{flag}: unknown .*; allowed: "):
        quality.settings_from(quality.parse_arguments([flag, value]))


def test_sections_round_trip_and_names_are_checked():
    """What a page quoting the .md cuts out is what was written; a name the marker grammar cannot hold is refused."""
    text = report.render_markdown("<!-- header -->", [("one", "First.\n\n| a |"), ("two-2", "Second.")])
    assert report.parse_sections(text) == {"one": "First.\n\n| a |", "two-2": "Second."}
    assert text.startswith("<!-- header -->\n\n<!-- section: one -->\n")
    with pytest.raises(ValueError, match="section name 'Two words'"):
        report.render_markdown("", [("Two words", "x")])


def test_results_json_is_plain_json_with_one_line_per_row():
    """The compact layout is still JSON that any reader parses back to the same data."""
    data = {"rows": [{"a": 1, "b": [0.5, None]}, {"a": 2, "b": []}], "nested": {"x": {"y": [1, 2]}}}
    text = report.dump_json(data)
    assert json.loads(text) == data
    assert '{"a": 1, "b": [0.5, null]}' in text.splitlines()[2]


def test_report_only_refuses_a_file_of_another_benchmark(tmp_path):
    """Regenerating the quality report from the bound's JSON would print nonsense: refused by name."""
    path = tmp_path / "schedule_bound.json"
    path.write_text(json.dumps(bound_results()), encoding="utf-8")
    with pytest.raises(SystemExit, match="not a quality results file"):
        quality.main(["--report-only", str(path)])
    with pytest.raises(SystemExit, match="no such results file"):
        bound.main(["--report-only", str(tmp_path / "missing.json")])


def run_entry_point(script: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.slow
def test_quality_command_line_regenerates_a_report(quality_md, tmp_path):
    """`python benchmarks/quality.py` finds its library without an installed package."""
    completed = run_entry_point("quality.py", "--report-only", str(quality_md.with_suffix(".json")), "--results",
                                str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "quality.md").exists()


@pytest.mark.slow
def test_schedule_bound_command_line_regenerates_a_report(tmp_path):
    """`python benchmarks/schedule_bound.py --report-only` rewrites the .md beside the JSON."""
    path = tmp_path / "schedule_bound.json"
    path.write_text(json.dumps(bound_results()), encoding="utf-8")
    completed = run_entry_point("schedule_bound.py", "--report-only", str(path))
    assert completed.returncode == 0, completed.stderr
    assert "<!-- section: bound -->" in (tmp_path / "schedule_bound.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_bench_core_command_line_refuses_a_missing_file_in_one_line(tmp_path):
    """`python benchmarks/bench_core.py` runs, and a bad --report-only path is one line, not a traceback."""
    completed = run_entry_point("bench_core.py", "--report-only", str(tmp_path / "missing.json"))
    assert completed.returncode == 1
    assert completed.stderr.strip() == f"{tmp_path / 'missing.json'}: no such results file"


@pytest.mark.slow
def test_search_presets_command_line_offers_only_the_per_sampler_search():
    """The withdrawn all-sampler mode is gone; --sampler picks the one sampler a preset is for."""
    completed = run_entry_point("search_presets.py", "--sampler", "euler_ancestral")
    assert completed.returncode == 2
    assert "--sampler: invalid choice: 'euler_ancestral'" in completed.stderr


@pytest.mark.parametrize("low, high, text", [(1.07, 1.26, "7 to 26% worse"), (0.95, 0.98, "2 to 5% better"),
                                             (0.976, 0.984, "2% better"), (0.9, 1.1, "from 10% better to 10% worse")])
def test_a_range_of_ratios_reads_as_one_difference(low, high, text):
    """One wording for every range of ratios to Karras, so a figure never appears in two formats."""
    assert report.relative_span(low, high) == text


def test_multiples_have_one_format():
    """'5.8 to 10.9 times' and '0.19 to 0.92 times': one decimal from 1 on, two below, one figure when both ends
    print alike."""
    assert report.factor_span(5.82, 10.91) == "5.8 to 10.9 times"
    assert report.factor_span(0.19, 0.92) == "0.19 to 0.92 times"
    assert report.factor_span(4.02, 4.04) == "4.0 times"
