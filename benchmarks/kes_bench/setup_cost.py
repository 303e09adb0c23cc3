"""What ``bash .ci/setup`` costs on a fresh checkout: the first run's time and disk, and a second run's time.

The README states these, so they are measured here, on a clone of the committed tree in a temporary
folder, with pip's cache off (as on a fresh machine), rather than typed by hand.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from . import report

REPOSITORY = report.BENCHMARKS.parent
# The biggest parts of the venv, to say where the disk goes.
HEAVY_PARTS = {"nvidia": "NVIDIA's CUDA libraries", "triton": "Triton", "torch": "torch"}


def timed_setup(clone: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["bash", ".ci/setup"], cwd=clone, check=True, capture_output=True,
                   env={**os.environ, "PIP_NO_CACHE_DIR": "1"})
    return time.perf_counter() - started


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def measure(second_runs: int) -> dict[str, Any]:
    """Clone HEAD, set it up from nothing, measure the venv, then run the setup again."""
    work = Path(tempfile.mkdtemp(prefix="kes-setup-"))
    try:
        clone = work / "clone"
        subprocess.run(["git", "clone", "--quiet", str(REPOSITORY), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, check=True,
                                capture_output=True, text=True).stdout.strip()
        report.log("first run of .ci/setup (minutes)")
        first = timed_setup(clone)
        site = next((clone / ".venv" / "lib").glob("python*/site-packages"))
        parts = {name: folder_bytes(site / name) for name in HEAVY_PARTS if (site / name).is_dir()}
        venv = folder_bytes(clone / ".venv")
        report.log("second runs")
        again = [timed_setup(clone) for _ in range(second_runs)]
        return {"commit": commit, "first_seconds": first, "venv_bytes": venv, "part_bytes": parts,
                "second_seconds": again}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def section(data: dict[str, Any]) -> str:
    gigabytes = data["venv_bytes"] / 1e9
    heavy = sum(data["part_bytes"].values()) / 1e9
    names = report.join_words([HEAVY_PARTS[name] for name in data["part_bytes"]])
    second = statistics.median(data["second_seconds"])
    return (f"A first `bash .ci/setup` took {data['first_seconds'] / 60:.1f} minutes here (pip's cache "
            f"off) and left {gigabytes:.1f} GB in `.venv`, {heavy:.1f} GB of it {names}: the CUDA build of "
            f"torch, which the CPU uses too (no CPU-only torch has a torchvision that imports beside it on "
            f"this machine). A second run with nothing changed takes {second:.1f} s: it checks a "
            f"stamp of what the install depends on and that the core imports, and installs nothing.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_setup.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--second-runs", type=int, default=3, help="how many second runs to time (default 3)")
    parser.add_argument("--report-only", type=Path, metavar="FILE.json", help="rewrite the .md from a saved run")
    parser.add_argument("--results", type=Path, help="folder for the results (default benchmarks/results)")
    args = parser.parse_args(argv)
    if args.report_only:
        saved = report.read_json(args.report_only)
        record, data = saved["run"], saved["setup"]
    else:
        started = time.perf_counter()
        data = measure(args.second_runs)
        record = report.run_record(argv, "bench_setup.py", time.perf_counter() - started)
        report.write_json(report.results_folder(args.results, False) / "setup.json", {"run": record, "setup": data})
    folder = report.results_folder(args.results, False)
    report.write_markdown(folder / "setup.md", report.header_line(record), [("setup", section(data))])
    print(section(data))
    return 0
