"""Keep the generated parts of README.md and docs/*.md true: ``python docs/sync.py [--check]``.

Two kinds of block, each between HTML comments that Markdown shows as nothing:

    <!-- generated: NAME -->                            a table made from the parameter declaration
    ...                                                  or the command-line parser (NAMES below)
    <!-- /generated -->

    <!-- quote: benchmarks/results/FILE.md#SECTION -->  a section of a results file a benchmark wrote
    ...                                                  (the file marks it <!-- section: SECTION -->)
    <!-- /quote -->

Without ``--check`` the blocks are rewritten in place; with it, nothing is written and the exit
status is 1 if any block differs (tests/test_docs.py runs the check). Figures in the docs come only
from quotes, so a rerun of a benchmark followed by this command updates every page that cites it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "modules"))

from simple_kes.app import reference  # noqa: E402

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAMES: dict[str, Callable[[], str]] = {
    "parameter-table": reference.parameter_table,
    "random-range-table": reference.random_range_table,
    "command-table": reference.command_table,
    "axis-list": reference.axis_list,
    "preset-list": reference.preset_list,
    "comfyui-widget-table": reference.comfyui_widget_table,
    "schedule-table": reference.schedule_table,
    "webui-entry-table": reference.webui_entry_table,
}
BLOCK = re.compile(r"(?P<open><!-- (?P<kind>generated|quote): (?P<what>\S+) -->\n)(?P<body>.*?)(?P<close><!-- /(?P=kind) -->)",
                   re.DOTALL)
SECTION = re.compile(r"^<!-- section: (?P<name>\S+) -->$", re.MULTILINE)


class SyncError(Exception):
    """A block that names something that does not exist."""


def results_section(reference_text: str) -> str:
    """The text of ``benchmarks/results/FILE.md#SECTION``, up to the next section or the end."""
    path_text, _, name = reference_text.partition("#")
    path = ROOT / path_text
    if not path.is_file():
        raise SyncError(f"{path_text}: no such results file (run the benchmark that writes it)")
    text = path.read_text(encoding="utf-8")
    starts = list(SECTION.finditer(text))
    for index, match in enumerate(starts):
        if match["name"] == name:
            end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
            return text[match.end():end].strip("\n") + "\n"
    raise SyncError(f"{path_text}: no section {name!r}; sections: {', '.join(m['name'] for m in starts)}")


def block_body(kind: str, what: str) -> str:
    if kind == "quote":
        return results_section(what)
    if what not in NAMES:
        raise SyncError(f"no generated block named {what!r}; names: {', '.join(NAMES)}")
    return NAMES[what]()


def synced(text: str, page: Path) -> str:
    """``text`` with every block's body replaced by what it should say."""
    def replace(match: re.Match) -> str:
        try:
            body = block_body(match["kind"], match["what"])
        except SyncError as error:
            raise SyncError(f"{page.relative_to(ROOT)}: {error}") from None
        return f"{match['open']}{body}{match['close']}"

    return BLOCK.sub(replace, text)


def stale_pages(pages: list[Path] = PAGES) -> dict[Path, str]:
    """Each page whose blocks differ from their sources, with its synced text."""
    stale = {}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new_text = synced(text, page)
        if new_text != text:
            stale[page] = new_text
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/sync.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    args = parser.parse_args(argv)
    try:
        stale = stale_pages()
    except SyncError as error:
        print(error, file=sys.stderr)
        return 1
    for page, text in stale.items():
        name = page.relative_to(ROOT)
        if args.check:
            print(f"{name}: out of date; run python docs/sync.py", file=sys.stderr)
        else:
            page.write_text(text, encoding="utf-8")
            print(f"updated {name}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
