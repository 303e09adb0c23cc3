"""README.md and docs/: generated tables and quoted figures match their sources, links resolve,
examples run, and no figure is typed by hand."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT_BYTES = 12 * 1024

_spec = importlib.util.spec_from_file_location("docs_sync", ROOT / "docs" / "sync.py")
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)

# Figures that are settings of a method or an aim, not measurements (measurements come only in quotes).
NOT_MEASUREMENTS = {"90%"}
FIGURE = re.compile(r"\d+(?:\.\d+)?\s?%|\b\d+(?:\.\d+)?x\b|\b\d+(?:\.\d+)? times\b")


def prose(text: str) -> str:
    """``text`` without generated or quoted blocks, fenced code and inline code."""
    text = sync.BLOCK.sub("", text)
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def test_every_generated_table_and_quoted_figure_matches_its_source():
    """python docs/sync.py --check: the tables come from the declaration and the parser, the figures
    from benchmarks/results/*.md; a page that drifts from either fails here."""
    assert sync.stale_pages() == {}, "run python docs/sync.py"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_no_figure_is_typed_by_hand(page):
    """Percentages and ratios appear only inside quotes of results files."""
    figures = [figure for figure in FIGURE.findall(prose(page.read_text(encoding="utf-8")))
               if figure.replace(" ", "") not in NOT_MEASUREMENTS]
    assert figures == [], f"{page.name}: quote these from a results file instead: {figures}"


def test_the_readme_fits_in_twelve_kilobytes_and_opens_with_what_a_newcomer_needs():
    """What it does, the picture, the verdict, install, then the two set-up commands (run, test)."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= README_LIMIT_BYTES
    picture = re.search(r"!\[[^\]]+\]\((docs/images/[^)]+\.png)\)", text)
    assert picture and (ROOT / picture[1]).is_file()
    order = [text.index(marker) for marker in (
        picture[0], "<!-- quote: benchmarks/results/quality.md#verdict -->", "## Install in the WebUI",
        "bash .ci/setup && .venv/bin/python -m simple_kes lab", "bash .ci/setup --browser && .venv/bin/python -m pytest")]
    assert order == sorted(order)
    commands = re.findall(r"```bash\n(bash \.ci/setup.*?)\n```", text)
    assert commands == ["bash .ci/setup && .venv/bin/python -m simple_kes lab",
                        "bash .ci/setup --browser && .venv/bin/python -m pytest"]


def test_ci_runs_the_readmes_test_command():
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash .ci/setup --browser" in run and ".venv/bin/python -m pytest" in run


def heading_anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_relative_links_and_their_anchors_resolve(page):
    for target in re.findall(r"\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+://", target):
            continue
        path_text, _, anchor = target.partition("#")
        linked = (page.parent / path_text).resolve() if path_text else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor:
            assert anchor in heading_anchors(linked), f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_python_examples_run(page):
    """Every ```python block of the docs runs as written (watchdog's docs examples rule)."""
    for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL):
        exec(compile(block, f"{page.name} example", "exec"), {})


def test_sync_rewrites_a_stale_block_and_names_a_missing_section(tmp_path, monkeypatch):
    """The mechanism the first test relies on: a wrong body is replaced, a bad reference is an error."""
    results = tmp_path / "benchmarks" / "results"
    results.mkdir(parents=True)
    (results / "demo.md").write_text("<!-- demo -->\n<!-- section: one -->\n| a |\n<!-- section: two -->\nb\n")
    monkeypatch.setattr(sync, "ROOT", tmp_path)
    page = tmp_path / "page.md"
    text = "x\n<!-- quote: benchmarks/results/demo.md#one -->\nstale\n<!-- /quote -->\ny\n"
    assert sync.synced(text, page) == "x\n<!-- quote: benchmarks/results/demo.md#one -->\n| a |\n<!-- /quote -->\ny\n"
    with pytest.raises(sync.SyncError, match="page.md: benchmarks/results/demo.md: no section 'three'; sections: one, two"):
        sync.synced(text.replace("#one", "#three"), page)
    with pytest.raises(sync.SyncError, match="no generated block named 'nope'"):
        sync.synced("<!-- generated: nope -->\n<!-- /generated -->\n", page)


def test_the_figure_guard_sees_figures_in_prose_only():
    text = "KES is 7 to 26% worse and 5.5x slower.\n<!-- quote: a#b -->\n12% 3x\n<!-- /quote -->\n`9x`\n"
    assert FIGURE.findall(prose(text)) == ["26%", "5.5x"]
