"""Running the command line in this process: ``main(argv)`` is what ``python -m simple_kes`` calls.

In-process runs cost milliseconds where a process costs seconds (torch and k-diffusion load), so the
command line's behaviour is tested here; one smoke test per entry point runs the real process.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from simple_kes.app.cli import main
from simple_kes.app.config_file import CONFIG_PATH_VARIABLE


@dataclasses.dataclass(frozen=True)
class Run:
    """One command line's exit status and what it printed."""

    code: int
    out: str
    err: str

    @property
    def last_error_line(self) -> str:
        """argparse prints its usage first; the line that says what is wrong comes last."""
        return self.err.splitlines()[-1]


def run_cli(capsys: pytest.CaptureFixture, *args: object) -> Run:
    """``python -m simple_kes ARGS`` in-process; argparse's exits (status 2, or 0 for --help) included."""
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return Run(code, out, err)


def isolate_user_config(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point $SIMPLE_KES_CONFIG into ``folder`` (no file there yet), so no test reads or writes the user's
    own config or presets; returns that path."""
    path = folder / "user" / "simple_kes.yaml"
    monkeypatch.setenv(CONFIG_PATH_VARIABLE, str(path))
    return path
