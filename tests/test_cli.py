"""The command line, run as a real process: ``python -m simple_kes``.

Each process imports k-diffusion (several seconds), so runs that do not depend on each other are
started together, the defaults' schedule is computed once per module, and timeouts are generous.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from typing import IO

import pytest

import simple_kes
from simple_kes.app import config_file
from simple_kes.app.config_file import template_text

TIMEOUT = 60.0  # process start-up includes importing torch and k-diffusion
TEMPLATE = template_text()


def with_values(**values) -> str:
    """The template text with some keys' values replaced (their comments kept)."""
    text = TEMPLATE
    for key, value in values.items():
        text, count = re.subn(rf"(?m)^{key}: [^ ]+", f"{key}: {value}", text)
        assert count == 1, key
    return text


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for the CLI: warnings off, and no user config (so the shipped defaults apply)."""
    env = dict(os.environ)
    env["PYTHONWARNINGS"] = "ignore"
    env["SIMPLE_KES_CONFIG"] = str(tmp_path_factory.mktemp("no-user-config") / "simple_kes.yaml")
    return env


@pytest.fixture(scope="module")
def default_run(cli_env) -> subprocess.CompletedProcess:
    """``sigmas --steps 20 --json`` with the shipped defaults (shared: each run costs seconds)."""
    [result] = run_cli(cli_env, ("sigmas", "--steps", "20", "--json"))
    return result


def start_cli(env: dict[str, str], *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simple_kes", *map(str, args)], env=env, text=True,
                            stdin=subprocess.DEVNULL, **popen)


def run_cli(env: dict[str, str], *runs: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    """Run several command lines at once; their completed processes, in order."""
    processes = [start_cli(env, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args in runs]
    completed = []
    try:
        for process, args in zip(processes, runs):
            stdout, stderr = process.communicate(timeout=TIMEOUT)
            completed.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return completed


def json_sigmas(result: subprocess.CompletedProcess) -> list[float]:
    """The one JSON list a ``--json`` run printed; it must be the whole of stdout."""
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    values = json.loads(lines[0])
    assert isinstance(values, list) and all(isinstance(v, (int, float)) for v in values)
    return values


def test_sigmas_json_prints_only_the_schedule(default_run):
    """sigmas --steps 20 --json prints one JSON list of 21 strictly decreasing numbers ending at 0, and nothing else."""
    result = default_run
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1
    sigmas = json_sigmas(result)
    assert len(sigmas) == 21
    assert sigmas[-1] == 0
    assert all(a > b for a, b in zip(sigmas, sigmas[1:]))


def test_sigmas_uses_the_given_config(cli_env, default_run, tmp_path):
    """--config FILE uses that file: sharpness 1.0 changes the tail of the schedule relative to the defaults."""
    unsharpened = tmp_path / "unsharpened.yaml"
    unsharpened.write_text(with_values(sharpness=1.0), encoding="utf-8")
    [custom] = run_cli(cli_env, ("sigmas", "--steps", "20", "--json", "--config", unsharpened))
    default, custom = json_sigmas(default_run), json_sigmas(custom)
    assert len(custom) == len(default) == 21
    assert custom[0] == default[0]
    assert custom[-2] != default[-2]
    assert custom[-2] > default[-2]  # sharpness below 1 lowers the tail; 1.0 leaves it


def test_seed_makes_randomized_schedule_reproducible(cli_env, tmp_path):
    """With randomization on in the file, the same --seed gives the same schedule and another seed a different one."""
    randomized = tmp_path / "randomized.yaml"
    randomized.write_text(with_values(randomize="true", start_blend_rand="true"), encoding="utf-8")
    common = ("sigmas", "--steps", "20", "--json", "--config", randomized)
    first, again, other = run_cli(cli_env, (*common, "--seed", "1"), (*common, "--seed", "1"),
                                  (*common, "--seed", "2"))
    assert json_sigmas(first) == json_sigmas(again)
    assert json_sigmas(first) != json_sigmas(other)


def test_check_accepts_the_template(cli_env):
    """check on the shipped template exits 0."""
    [result] = run_cli(cli_env, ("check", config_file.TEMPLATE))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_rejects_out_of_range_value(cli_env, tmp_path):
    """check on a bad file exits 1 and names the file, the key and the allowed range on stderr."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(with_values(sharpness=-1), encoding="utf-8")
    [result] = run_cli(cli_env, ("check", bad))
    assert result.returncode == 1
    assert str(bad) in result.stderr
    assert "sharpness" in result.stderr
    assert "allowed: a number > 0" in result.stderr


def test_check_suggests_closest_key(cli_env, tmp_path):
    """check on a misspelt key exits 1 and suggests the closest setting name."""
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text("sharpnes: 0.9\n", encoding="utf-8")
    [result] = run_cli(cli_env, ("check", misspelt))
    assert result.returncode == 1
    assert "sharpnes" in result.stderr
    assert "did you mean sharpness?" in result.stderr


def _pump(stream: IO[str], lines: queue.Queue) -> None:
    """Copy a stream's lines into a queue; None marks the end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue, what: str) -> str:
    try:
        line = lines.get(timeout=TIMEOUT)
    except queue.Empty:
        raise AssertionError(f"no {what} within {TIMEOUT} s") from None
    assert line is not None, f"the process ended before printing {what}"
    return line


def test_watch_prints_again_when_the_file_changes(cli_env, tmp_path):
    """watch FILE prints the schedule, prints it again after the file is edited, and exits cleanly on SIGTERM."""
    watched = tmp_path / "watched.yaml"
    watched.write_text(TEMPLATE, encoding="utf-8")
    process = start_cli(cli_env, "watch", watched, "--steps", "5", "--json",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout_lines: queue.Queue = queue.Queue()
    stderr_lines: queue.Queue = queue.Queue()
    readers = [threading.Thread(target=_pump, args=(process.stdout, stdout_lines), daemon=True),
               threading.Thread(target=_pump, args=(process.stderr, stderr_lines), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        first = json.loads(_next_line(stdout_lines, "the first schedule"))
        assert len(first) == 6
        # The file is watched only once the CLI says so; an edit before that could be missed.
        assert "watching" in _next_line(stderr_lines, "the 'watching' message")

        watched.write_text(with_values(sharpness=1.0), encoding="utf-8")
        second = json.loads(_next_line(stdout_lines, "the schedule after the edit"))
        assert len(second) == 6
        assert second != first

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for reader in readers:
            reader.join(timeout=TIMEOUT)
        process.stdout.close()
        process.stderr.close()
    assert not any(reader.is_alive() for reader in readers)
