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


FAKE_PIP = """import os, sys
with open(os.environ["FAKE_PIP_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
"""


def run_outside_the_webui(tmp_path: Path, *python_flags: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``python install.py`` as ComfyUI-Manager runs it (no ``launch`` module), with a pip that only logs."""
    pip = tmp_path / "fake" / "pip"
    pip.mkdir(parents=True)
    (pip / "__init__.py").write_text("")
    (pip / "__main__.py").write_text(FAKE_PIP)
    log = tmp_path / "pip.log"
    # PYTHONPATH puts the logging pip before the real one, for install.py's own pip subprocess too.
    environment = {**os.environ, "PYTHONPATH": str(pip.parent), "FAKE_PIP_LOG": str(log)}
    result = subprocess.run([sys.executable, *python_flags, str(ROOT / "install.py")], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=60)
    return result, log.read_text().splitlines() if log.exists() else []


def test_comfyui_manager_run_installs_what_is_missing_with_that_pythons_pip(tmp_path):
    """-S leaves site-packages out, so watchdog is missing, as in a ComfyUI that never had it."""
    result, calls = run_outside_the_webui(tmp_path, "-S")
    assert result.returncode == 0, result.stderr
    assert calls == ["install watchdog>=2.1"]
    assert "watchdog for Karras Exponential" in result.stdout


def test_comfyui_manager_run_is_quiet_when_everything_is_there(tmp_path):
    result, calls = run_outside_the_webui(tmp_path)
    assert result.returncode == 0 and calls == []
    assert result.stdout == "" and result.stderr == ""
