"""The command line: every command's output, exit status and one-line refusals, run in-process.

``main(argv)`` is all that ``python -m simple_kes`` runs, so these tests call it directly (milliseconds
each, where a process costs seconds for torch and k-diffusion). Two subprocess tests check what only
a real process shows: the entry point prints exactly what ``main`` prints, with nothing on stderr,
and the quick answers (``--help``, a broken file, a bad ``--out`` or ``--port``) import no torch,
matplotlib or gradio. The user's own config is never read: $SIMPLE_KES_CONFIG points into tmp_path.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from simple_kes.app.cli import MAX_STEPS, PROGRAM, main
from simple_kes.app.config_file import TEMPLATE, template_text
from simple_kes.app.presets import preset_paths
from cli_harness import Run, isolate_user_config, run_cli

TEXT = template_text()
# Waiting for a line from a running watch: a reload takes milliseconds; this is only the give-up point.
WAIT_SECONDS = 20.0
STOP_SECONDS = 5.0  # the watch checks for signals every 0.25 s at the latest
PROCESS_TIMEOUT = 120.0  # a process imports torch and k-diffusion (seconds, more on a busy machine)


@pytest.fixture(autouse=True)
def user_config(tmp_path, monkeypatch) -> Path:
    """The user's config path for this test (no file there unless a test writes one)."""
    return isolate_user_config(tmp_path, monkeypatch)


@pytest.fixture
def cli(capsys):
    """``cli("sigmas", "--json")`` runs that command line in-process and returns a ``Run``."""
    return functools.partial(run_cli, capsys)


def with_values(**values) -> str:
    """The template text with some keys' values replaced (their comments kept)."""
    text = TEXT
    for key, value in values.items():
        text, count = re.subn(rf"(?m)^{key}: [^ ]+", f"{key}: {value}", text)
        assert count == 1, key
    return text


def config_file(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def json_sigmas(run: Run) -> list[float]:
    """The one JSON list a ``--json`` run printed; it must be the whole of stdout, with nothing on stderr."""
    assert (run.code, run.err) == (0, "")
    [line] = run.out.splitlines()
    return json.loads(line)


# --- sigmas --------------------------------------------------------------------------------------------

def test_sigmas_json_prints_only_the_schedule(cli):
    """sigmas --steps 20 --json prints one JSON list of 21 strictly decreasing numbers ending at 0."""
    sigmas = json_sigmas(cli("sigmas", "--steps", "20", "--json"))
    assert len(sigmas) == 21 and sigmas[-1] == 0
    assert all(a > b for a, b in zip(sigmas, sigmas[1:]))


def test_sigmas_text_names_its_config_and_lists_every_step(cli, user_config):
    """Without --config the shipped defaults are used until the user has a file, then the user's file;
    the header says which, and the rows are the JSON schedule's values, one step per line."""
    expected = json_sigmas(cli("sigmas", "--steps", "4", "--json"))
    shipped = cli("sigmas", "--steps", "4")
    assert (shipped.code, shipped.err) == (0, "")
    header, *rows = shipped.out.splitlines()
    assert header == f"Karras Exponential, 4 steps, sigma range 0.0292 to 14.6146, config {TEMPLATE}"
    assert [row.split() for row in rows] == [[str(step), f"{sigma:.6g}"] for step, sigma in enumerate(expected)]

    user_config.parent.mkdir()
    user_config.write_text(TEXT, encoding="utf-8")
    assert cli("sigmas", "--steps", "4").out.splitlines()[0].endswith(f"config {user_config}")


def test_sigmas_uses_the_given_config(cli, tmp_path):
    """--config FILE uses that file: sharpness 1.0 leaves the tail that the default 0.95 lowers."""
    unsharpened = config_file(tmp_path, with_values(sharpness=1.0))
    default = json_sigmas(cli("sigmas", "--steps", "20", "--json"))
    custom = json_sigmas(cli("sigmas", "--steps", "20", "--json", "--config", unsharpened))
    assert custom[0] == default[0]
    assert custom[-2] > default[-2]


def test_seed_makes_randomized_schedule_reproducible(cli, tmp_path):
    """With randomization on in the file, the same --seed gives the same schedule and another seed a
    different one; the text output says what was drawn with which seed."""
    randomized = config_file(tmp_path, with_values(randomize="true", start_blend_rand="true"))
    common = ("sigmas", "--steps", "20", "--json", "--config", randomized)
    first = json_sigmas(cli(*common, "--seed", "1"))
    assert json_sigmas(cli(*common, "--seed", "1")) == first
    assert json_sigmas(cli(*common, "--seed", "2")) != first
    drawn = cli("sigmas", "--config", randomized, "--seed", "1").out.splitlines()[1]
    assert re.fullmatch(r"randomized with seed 1: start_blend=[0-9.]+", drawn)


@settings(max_examples=60, deadline=None)
@given(steps=st.integers(1, 200), low=st.floats(1e-3, 1e3), high=st.floats(1e-3, 1e3))
def test_any_model_range_gives_a_schedule_or_one_line_naming_the_flags(steps, low, high):
    """Whatever model range (within what any model uses) and step count the flags give, sigmas prints
    n + 1 strictly decreasing sigmas ending at 0, or, for an empty range, exits 1 with one line naming
    both flags (never a traceback)."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["sigmas", "--json", "--steps", str(steps), "--sigma-min", repr(low), "--sigma-max", repr(high)]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # no capsys: many examples
        code = main(argv)
    if low < high:
        assert code == 0, err.getvalue()
        sigmas = json.loads(out.getvalue())
        assert len(sigmas) == steps + 1 and sigmas[-1] == 0
        assert all(a > b for a, b in zip(sigmas, sigmas[1:]))
    else:
        assert code == 1 and out.getvalue() == ""
        assert err.getvalue() == f"--sigma-min {low:g} must be below --sigma-max {high:g}\n"


def test_a_reader_that_stops_early_gets_no_traceback(monkeypatch):
    """``sigmas | head`` closes the pipe before the schedule is written: the command stops quietly
    instead of raising BrokenPipeError, and stdout can still be flushed and closed at exit."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    closed_pipe = open(write_end, "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", closed_pipe)
    try:
        assert main(["sigmas", "--steps", "5"]) == 1
    finally:
        monkeypatch.undo()
        closed_pipe.close()  # what Python's exit does; raised BrokenPipeError again before the fix


# --- check and template --------------------------------------------------------------------------------

def test_check_accepts_the_template(cli):
    """check on the shipped template prints FILE: OK, exit 0."""
    assert cli("check", "--config", TEMPLATE) == Run(0, f"{TEMPLATE}: OK\n", "")


def test_check_prints_notices_before_ok(cli, tmp_path):
    """A file that is valid but probably not what was meant passes with a note saying why."""
    path = config_file(tmp_path, with_values(randomize="false", start_blend_rand="true"))
    assert cli("check", "--config", path) == Run(
        0, f"{path}: note: start_blend_rand set, but randomize is false: nothing is randomized\n{path}: OK\n", "")


def test_check_of_a_folder_is_one_line(cli, tmp_path):
    """A folder given as the config is named in one line, exit 1 (was an IsADirectoryError traceback)."""
    assert cli("check", "--config", tmp_path) == Run(1, "", f"{tmp_path}: is a folder, not a config file\n")


@pytest.mark.parametrize("text, line, key", [
    pytest.param("sharpness 0.9\nrho: 7\n", 1, "sharpness", id="key without colon"),
    pytest.param("rho: 7\nsharpness: [0.9\n", 2, "sharpness", id="unclosed bracket on the last line"),
    pytest.param("sharpness: [0.9\nrho: 7\n", 1, "sharpness", id="unclosed bracket before another key"),
    pytest.param('sharpness: "0.9\nrho: 7\n', 1, "sharpness", id="unclosed quote before another key"),
])
def test_check_reports_a_yaml_mistake_on_its_line_with_its_key(cli, tmp_path, text, line, key):
    """The scanner notices these mistakes a line later; the message names the line and key written wrong."""
    path = config_file(tmp_path, text)
    run = cli("check", "--config", path)
    assert (run.code, run.out) == (1, "")
    assert re.fullmatch(rf"{re.escape(str(path))}, line {line}: {key}: column \d+: not valid YAML: .+\n", run.err)


def test_check_lists_every_problem_in_line_order(cli, tmp_path):
    """Problems found by different rules (range, duplicate, unknown key) are printed together, by line."""
    path = config_file(tmp_path, "rho: 7\nsharpness: -1\nrho: 6\nsharpnes: 0.9\n")
    assert cli("check", "--config", path) == Run(1, "", (
        f"{path}, line 2: sharpness: -1 is out of range; allowed: a number > 0\n"
        f"{path}, line 3: rho: appears twice (lines 1 and 3); keep one\n"
        f"{path}, line 4: sharpnes: unknown setting; did you mean sharpness?\n"))


def test_check_without_a_file_says_how_to_give_one(cli):
    """check has no default file to fall back on; the refusal says which flag is missing."""
    assert cli("check") == Run(1, "", f"{PROGRAM} check: which config file? Give --config FILE\n")


def test_check_takes_the_old_positional_form_with_a_notice(cli):
    """``check FILE`` (the old form) still works; one line on stderr says the new one."""
    assert cli("check", TEMPLATE) == Run(
        0, f"{TEMPLATE}: OK\n", f"note: use --config {TEMPLATE}; a config file without --config is the old form\n")


def test_template_prints_the_shipped_defaults_file(cli):
    """template prints the package's defaults.yaml exactly, so ``template > my.yaml`` gives a valid file."""
    assert cli("template") == Run(0, TEXT, "")


# --- flags ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["sigmas", "--steps", "0"], f"argument --steps: 0 is out of range; allowed: 1 to {MAX_STEPS}"),
    (["sigmas", "--steps", str(MAX_STEPS + 1)],
     f"argument --steps: {MAX_STEPS + 1} is out of range; allowed: 1 to {MAX_STEPS}"),
    (["watch", "--steps", "1.5"], f"argument --steps: '1.5' is not a whole number; allowed: 1 to {MAX_STEPS}"),
    (["sigmas", "--sigma-min", "0"], "argument --sigma-min: 0 is out of range; allowed: 1e-05 to 100000"),
    (["plot", "--out", "x.png", "--sigma-min", "0"],
     "argument --sigma-min: 0 is out of range; allowed: 1e-05 to 100000"),
    (["sigmas", "--sigma-max", "inf"], "argument --sigma-max: inf is out of range; allowed: 1e-05 to 100000"),
    (["sigmas", "--sigma-max", "nan"], "argument --sigma-max: nan is out of range; allowed: 1e-05 to 100000"),
    (["sigmas", "--sigma-max", "abc"], "argument --sigma-max: 'abc' is not a number; allowed: 1e-05 to 100000"),
    (["sigmas", "--sigma-min", "1e-320"], "argument --sigma-min: 1e-320 is out of range; allowed: 1e-05 to 100000"),
    (["lab", "--port", "0"], "argument --port: 0 is out of range; allowed: 1 to 65535"),
])
def test_a_bad_flag_value_is_refused_naming_the_flag(cli, argv, message):
    """argparse's usage error (exit 2) ends with a line naming the flag, the value and what is allowed."""
    run = cli(*argv)
    assert (run.code, run.out) == (2, "")
    assert run.last_error_line == f"{PROGRAM} {argv[0]}: error: {message}"


def test_plot_has_no_json_flag(cli, tmp_path):
    """plot --json never did anything; it is refused rather than ignored."""
    run = cli("plot", "--json", "--out", tmp_path / "x.png")
    assert (run.code, run.last_error_line) == (2, f"{PROGRAM}: error: unrecognized arguments: --json")


@pytest.mark.parametrize("file_text, flags, message", [
    ("sigma_min: 0.05\n", ["--sigma-max", "0.04"], "sigma_min 0.05 of config {path} must be below --sigma-max 0.04"),
    ("sigma_max: 0.5\n", ["--sigma-min", "1"], "--sigma-min 1 must be below sigma_max 0.5 of config {path}"),
], ids=["file's sigma_min over --sigma-max", "--sigma-min over file's sigma_max"])
@pytest.mark.parametrize("command", ["sigmas", "plot"])
def test_a_range_conflict_between_file_and_flag_names_both(cli, tmp_path, command, file_text, flags, message):
    """The model range is refused naming the key (and its file) and the flag that set each end."""
    path = config_file(tmp_path, file_text)
    out = ["--out", tmp_path / "x.png"] if command == "plot" else []
    assert cli(command, "--config", path, *flags, *out) == Run(1, "", message.format(path=path) + "\n")
    assert not (tmp_path / "x.png").exists()


def test_plot_refuses_an_impossible_model_range_naming_the_flags(cli, tmp_path):
    """Our message, not k-diffusion's 'math domain error', and no file."""
    out = tmp_path / "x.png"
    assert cli("plot", "--sigma-min", "5", "--sigma-max", "1", "--out", out) == Run(
        1, "", "--sigma-min 5 must be below --sigma-max 1\n")
    assert not out.exists()


def test_plot_refuses_an_out_path_it_cannot_write(cli, tmp_path, monkeypatch):
    """--out in a missing folder, or a folder itself, is refused naming --out (the subprocess test below
    checks that this answer comes before torch is imported)."""
    monkeypatch.chdir(tmp_path)
    assert cli("plot", "--out", "missing/dir/x.png") == Run(
        1, "", "--out missing/dir/x.png: the folder missing/dir does not exist\n")
    assert cli("plot", "--out", tmp_path) == Run(
        1, "", f"--out {tmp_path}: is a folder; give a file name such as {tmp_path / 'schedule.png'}\n")


# --- the config file given once, the same way for every command -----------------------------------------

@pytest.mark.parametrize("command", ["sigmas", "check", "watch", "lab", "preset"])
def test_a_folder_as_the_config_is_refused_in_one_line(cli, tmp_path, command, served, monkeypatch):
    """Every command names the folder (watch and lab used to start on it, preset to fail with a traceback)."""
    argv = [command, *(["faithful"] if command == "preset" else []), "--config", tmp_path]
    run = watch(monkeypatch, *argv[1:]) if command == "watch" else cli(*argv)
    assert run == Run(1, "", f"{tmp_path}: is a folder, not a config file\n")
    assert served == []


@pytest.mark.parametrize("command", ["sigmas", "check", "watch", "lab"])
def test_the_config_given_twice_is_refused(cli, tmp_path, command, served, monkeypatch):
    """--config FILE and the old positional FILE together: which one was meant is not guessed."""
    first, second = config_file(tmp_path, TEXT, "a.yaml"), config_file(tmp_path, TEXT, "b.yaml")
    argv = [command, "--config", first, second]
    run = watch(monkeypatch, *argv[1:]) if command == "watch" else cli(*argv)
    assert run == Run(1, "", f"give the config file once: --config {first} or {second}\n")
    assert served == []


# --- watch ---------------------------------------------------------------------------------------------

class LineQueue(io.TextIOBase):
    """A text stream that queues each complete line as it is written, so a test can wait for output."""

    def __init__(self):
        super().__init__()
        self.text = ""
        self.lines: queue.Queue = queue.Queue()
        self._partial = ""
        self._lock = threading.Lock()  # the watch prints from its reload thread too

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            self.text += text
            *complete, self._partial = (self._partial + text).split("\n")
        for line in complete:
            self.lines.put(line)
        return len(text)

    def close_queue(self) -> None:
        self.lines.put(None)

    def next_line(self, what: str) -> str:
        try:
            line = self.lines.get(timeout=WAIT_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no {what} within {WAIT_SECONDS} s") from None
        if line is None:
            raise AssertionError(f"the command ended before printing {what}")
        return line


def watch(monkeypatch, *args, while_watching=None) -> Run:
    """``watch ARGS`` in this, the main, thread, as a user runs it. Once it says it is watching, a helper
    thread calls ``while_watching(stdout)`` and then stops it with SIGTERM (as a service manager, or
    Ctrl+C, would); a watch that refuses to start just returns. A watch that ignores SIGTERM fails the
    test instead of hanging it, and so does one that leaves its SIGTERM handler behind."""
    out, err = LineQueue(), LineQueue()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    failures: list[BaseException] = []
    returned = threading.Event()

    def stop_it() -> None:
        main_thread = threading.main_thread().ident
        signal.pthread_kill(main_thread, signal.SIGTERM)
        if not returned.wait(STOP_SECONDS):
            failures.append(AssertionError(f"watch did not stop within {STOP_SECONDS} s of SIGTERM"))
            signal.pthread_kill(main_thread, signal.SIGTERM)  # a second try, so that the test ends

    def drive() -> None:
        try:
            while not err.next_line("'watching ...' on stderr").startswith("watching "):
                pass  # a notice about the old positional form comes first
        except AssertionError:
            return  # it ended without watching: nothing to stop
        try:
            if while_watching is not None:
                while_watching(out)
        except BaseException as failure:  # reported once the watch has stopped
            failures.append(failure)
        finally:
            stop_it()

    def ours(*_signal_details) -> None:
        """SIGTERM outside the watch's own handler: a second try that came late. Harmless."""

    previous = signal.signal(signal.SIGTERM, ours)  # never the default, which would end pytest
    driver = threading.Thread(target=drive, name="test-watch-driver")
    driver.start()
    try:
        code = main(["watch", *map(str, args)])
    except SystemExit as stop:
        code = stop.code
    finally:
        returned.set()
        err.close_queue()
        driver.join(WAIT_SECONDS)
        if signal.getsignal(signal.SIGTERM) is not ours:
            failures.append(AssertionError("watch left its SIGTERM handler installed"))
        signal.signal(signal.SIGTERM, previous)
    if failures:
        raise failures[0]
    return Run(code, out.text, err.text)


@pytest.mark.parametrize("form", ["--config", "positional"])
def test_watch_prints_again_when_the_file_changes_and_stops_on_sigterm(monkeypatch, tmp_path, form):
    """watch prints the schedule, prints it again after the file is edited, and exits 0 on SIGTERM (with
    the previous SIGTERM handler back: checked by ``watch``); the old positional form works with a notice."""
    watched = config_file(tmp_path, TEXT)
    printed: list[str] = []

    def edit(out: LineQueue) -> None:
        printed.append(out.next_line("the first schedule"))
        watched.write_text(with_values(sharpness=1.0), encoding="utf-8")
        printed.append(out.next_line("the schedule after the edit"))

    config_args = ["--config", watched] if form == "--config" else [watched]
    run = watch(monkeypatch, *config_args, "--steps", "5", "--json", while_watching=edit)
    assert run.code == 0
    assert run.out.splitlines() == printed
    first, second = map(json.loads, printed)
    assert len(first) == len(second) == 6 and first != second
    notice = [f"note: use --config {watched}; a config file without --config is the old form"]
    expected_err = (notice if form == "positional" else []) + [f"watching {watched}; press Ctrl+C to stop"]
    assert run.err.splitlines()[:len(expected_err)] == expected_err  # (an edit caught half-written may follow)


def test_watch_with_a_preset_prints_the_presets_schedule(cli, monkeypatch, tmp_path):
    """--preset NAME replaces the file's schedule values (the old watch printed the file's schedule
    under a header naming the preset)."""
    path = config_file(tmp_path, with_values(sharpness=0.9))
    presets_schedule = cli("sigmas", "--steps", "5", "--json", "--config", path, "--preset", "faithful").out
    files_schedule = cli("sigmas", "--steps", "5", "--json", "--config", path).out
    assert presets_schedule != files_schedule
    printed: list[str] = []
    run = watch(monkeypatch, "--config", path, "--preset", "faithful", "--steps", "5", "--json",
                while_watching=lambda out: printed.append(out.next_line("the schedule")))
    assert run.code == 0 and run.out == presets_schedule == printed[0] + "\n"


def test_watch_refuses_an_unknown_preset_at_start(monkeypatch, tmp_path):
    """A misspelt --preset is refused before watching starts, not reported on every reload."""
    path = config_file(tmp_path, TEXT)
    run = watch(monkeypatch, "--config", path, "--preset", "nope")
    assert run == Run(1, "", f"--preset nope: no preset of that name; presets: {', '.join(preset_paths())}\n")


# --- lab (its server replaced: the page itself is tested by the panel and browser tests) -----------------

@pytest.fixture
def served(monkeypatch) -> list[tuple[Path, int]]:
    """The (config path, port) of each lab the command would serve; the server is not started."""
    calls: list[tuple[Path, int]] = []
    stand_in = types.ModuleType("simple_kes.app.lab")
    stand_in.serve = lambda manager, port: calls.append((manager.path, port))
    monkeypatch.setitem(sys.modules, "simple_kes.app.lab", stand_in)
    return calls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_time_wait() -> int:
    """A port whose last server closed its connection first, as a lab stopped while a page was open does:
    the kernel keeps that end in TIME_WAIT for a minute, yet a new server (SO_REUSEADDR) may bind it."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's does
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = server.accept()
            accepted.close()
            assert client.recv(1) == b""  # the server's close has arrived
    return port


def test_lab_refuses_a_port_in_use_at_once(cli, served, tmp_path):
    """The port is probed before the lab is built (seconds of gradio), which would then fail less clearly."""
    path = config_file(tmp_path, TEXT)
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        run = cli("lab", "--config", path, "--port", port)
    assert run == Run(1, "", f"--port {port}: 127.0.0.1:{port} is in use; choose another with --port\n")
    assert served == []


@pytest.mark.parametrize("form", ["--config", "positional"])
def test_lab_serves_the_given_file_on_the_given_port(cli, served, tmp_path, form):
    """lab edits the file given (--config, or the old positional form with a notice) on 127.0.0.1:PORT."""
    path = config_file(tmp_path, TEXT)
    port = free_port()
    run = cli("lab", *(["--config", path] if form == "--config" else [path]), "--port", port)
    assert served == [(path, port)]
    notice = f"note: use --config {path}; a config file without --config is the old form\n"
    assert run == Run(0, f"Karras Exponential lab on http://127.0.0.1:{port}/ editing {path}; Ctrl+C stops it\n",
                      notice if form == "positional" else "")


def test_lab_takes_a_port_its_last_run_left_in_time_wait(cli, served, tmp_path):
    """Restarting the lab right after stopping it works: the probe allows what the server's own bind
    allows (without SO_REUSEADDR it called such a port in use for a minute)."""
    path = config_file(tmp_path, TEXT)
    port = port_in_time_wait()
    assert cli("lab", "--config", path, "--port", port).code == 0
    assert served == [(path, port)]


# --- real processes --------------------------------------------------------------------------------------

def process_env() -> dict[str, str]:
    """The environment a user has: no PYTHONWARNINGS (warnings print as they would for them); the
    isolated $SIMPLE_KES_CONFIG of the test."""
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    return env


@pytest.mark.slow
def test_python_m_simple_kes_prints_what_main_prints_and_nothing_on_stderr(cli, tmp_path):
    """The entry point runs ``main``: same output as in-process, and stderr empty as the user sees it
    (k-diffusion's import printed a two-line pkg_resources deprecation warning on every run)."""
    expected = cli("sigmas", "--steps", "20")
    result = subprocess.run([sys.executable, "-m", "simple_kes", "sigmas", "--steps", "20"], capture_output=True,
                            text=True, timeout=PROCESS_TIMEOUT, env=process_env(), cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == expected.out and len(result.stdout.splitlines()) == 22


QUICK_ANSWERS = textwrap.dedent("""
    import json, sys
    from simple_kes.app.cli import main

    codes = []
    for argv in json.loads(sys.argv[1]):
        try:
            codes.append(main(argv))
        except SystemExit as stop:
            codes.append(stop.code)
    heavy = ["torch", "k_diffusion", "matplotlib", "gradio"]
    print(json.dumps({"codes": codes, "imported": [name for name in heavy if name in sys.modules]}))
""")


@pytest.mark.slow
def test_quick_answers_import_no_torch_matplotlib_or_gradio(tmp_path):
    """--help, a flag error, check of a file with a syntax error or an unknown key, plot's --out in a
    missing folder and lab on a busy port answer before any heavy import, so they answer at once."""
    syntax = config_file(tmp_path, "sharpness 0.9\nrho: 7\n", "syntax.yaml")
    unknown = config_file(tmp_path, "sharpnes: 0.9\n", "unknown.yaml")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        runs = [["--help"], ["sigmas", "--help"], ["sigmas", "--steps", "0"], ["check", "--config", str(syntax)],
                ["check", "--config", str(unknown)], ["plot", "--out", str(tmp_path / "missing" / "x.png")],
                ["lab", "--config", str(syntax), "--port", str(busy.getsockname()[1])]]
        result = subprocess.run([sys.executable, "-c", QUICK_ANSWERS, json.dumps(runs)], capture_output=True,
                                text=True, timeout=PROCESS_TIMEOUT, env=process_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"codes": [0, 0, 2, 1, 1, 1, 1], "imported": []}
