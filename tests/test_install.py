"""install.py, run the way the WebUI runs it: a subprocess with the WebUI root on PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUB = Path(__file__).resolve().parent / "webui_stub"


def run_installer(tmp_path: Path, installed: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    log = tmp_path / "pip.log"
    environment = {**os.environ, "PYTHONPATH": str(STUB), "STUB_INSTALLED": installed, "STUB_PIP_LOG": str(log)}
    result = subprocess.run([sys.executable, str(ROOT / "install.py")], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=60)
    return result, log.read_text().splitlines() if log.exists() else []


def test_installs_only_what_the_webui_lacks(tmp_path):
    result, calls = run_installer(tmp_path, installed="torch,gradio")
    assert result.returncode == 0, result.stderr
    assert calls == ['install "watchdog>=2.1"|watchdog for Karras Exponential']


def test_quiet_and_does_nothing_when_everything_is_there(tmp_path):
    result, calls = run_installer(tmp_path, installed="watchdog")
    assert result.returncode == 0 and calls == []
    assert result.stdout == "" and result.stderr == ""
