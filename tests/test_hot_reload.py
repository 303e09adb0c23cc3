"""Hot reload with the real watchdog observer on real files, and the manager's atomic save.

Every test waits on the manager's notifications (a queue fed by ``ConfigManager.subscribe``), never on
sleeps; a short ``queue.get`` timeout is used only where the point is that nothing more arrives.
"""

from __future__ import annotations

import os
import queue
import re
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import simple_kes
from simple_kes import ConfigError, KesConfig
from simple_kes.app.manager import ConfigManager, DebounceSchedule, LoadResult
from simple_kes.app import config_file
from simple_kes.app.config_file import template_text

EVENT_TIMEOUT = 5.0  # the longest we wait for a notification that must come
QUIET = 0.3  # how long "nothing more arrives" is watched for
TEMPLATE = template_text()
DEFAULT_SHARPNESS = KesConfig().sharpness


def with_sharpness(value, text: str = TEMPLATE) -> str:
    """The template text with the sharpness line's value replaced (its comment kept)."""
    new_text, count = re.subn(r"(?m)^sharpness: [^ ]+", f"sharpness: {value}", text)
    assert count == 1
    return new_text


def write_in_place(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def wait_for(events: queue.Queue, predicate: Callable[[LoadResult], bool],
             timeout: float = EVENT_TIMEOUT) -> tuple[LoadResult, list[LoadResult]]:
    """The first notification that satisfies ``predicate``, and every notification seen up to it."""
    deadline = time.monotonic() + timeout
    seen: list[LoadResult] = []
    while True:
        remaining = deadline - time.monotonic()
        try:
            result = events.get(timeout=max(remaining, 0.0))
        except queue.Empty:
            raise AssertionError(f"no matching notification within {timeout} s; saw {describe(seen)}") from None
        seen.append(result)
        if predicate(result):
            return result, seen


def describe(results: list[LoadResult]) -> list[str]:
    """Short forms of notifications for failure messages (a whole KesConfig is unreadable)."""
    return [f"changed={r.changed} sharpness={r.config.sharpness} error={r.error!r}" for r in results]


def drain_quiet(events: queue.Queue, quiet: float = QUIET, limit: int = 10) -> list[LoadResult]:
    """Every notification until none arrives for ``quiet`` seconds (at most ``limit``, so a loop fails)."""
    seen = []
    while len(seen) < limit:
        try:
            seen.append(events.get(timeout=quiet))
        except queue.Empty:
            break
    return seen


def loaded(sharpness) -> Callable[[LoadResult], bool]:
    return lambda result: result.error is None and result.config.sharpness == sharpness


def failed_with(text: str) -> Callable[[LoadResult], bool]:
    """Matches an error notification mentioning ``text`` (an in-place write may first show an empty file)."""
    return lambda result: result.error is not None and text in result.error


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]


@pytest.fixture
def manager(config_path: Path):
    """A started manager of ``config_path`` (created the way the WebUI creates it); stopped afterwards."""
    started = ConfigManager(config_path)
    started.start()
    yield started
    started.stop()
    assert not started.watching


@pytest.fixture
def events(manager: ConfigManager):
    """Notifications the manager sends from now on (the initial load is not in it)."""
    received: queue.Queue = queue.Queue()
    unsubscribe = manager.subscribe(received.put)
    yield received
    unsubscribe()


def test_edit_in_place_takes_effect(manager, events, config_path):
    """Rewriting the file in place puts the new value in force (how fast: benchmarks/bench_core.py)."""
    assert manager.config.sharpness == DEFAULT_SHARPNESS
    write_in_place(config_path, with_sharpness(0.9))
    result, _ = wait_for(events, loaded(0.9))
    assert result.changed
    assert manager.config.sharpness == 0.9
    assert manager.last_error is None


def test_save_by_rename_takes_effect(manager, events, config_path):
    """An editor's save-by-rename (temporary file in the same folder, then os.replace) is picked up."""
    temporary = config_path.with_name(f".{config_path.name}.editor-swap")
    temporary.write_text(with_sharpness(0.85), encoding="utf-8")
    os.replace(temporary, config_path)
    result, _ = wait_for(events, loaded(0.85))
    assert result.changed
    assert manager.config.sharpness == 0.85
    assert manager.last_error is None


def test_deleted_file_keeps_last_good_then_recreated_file_loads(manager, events, config_path):
    """Deleting the file keeps the last good config and reports it; re-creating it loads it and clears the error."""
    write_in_place(config_path, with_sharpness(0.9))
    wait_for(events, loaded(0.9))

    config_path.unlink()
    result, _ = wait_for(events, failed_with(str(config_path)))
    assert manager.config.sharpness == 0.9
    assert result.config.sharpness == 0.9
    assert str(config_path) in manager.last_error
    assert "missing" in manager.last_error or "deleted" in manager.last_error

    write_in_place(config_path, with_sharpness(0.8))
    wait_for(events, loaded(0.8))
    assert manager.config.sharpness == 0.8
    assert manager.last_error is None


def test_burst_of_writes_ends_with_the_last_value_in_force(manager, events, config_path):
    """Thirty writes in a tight loop, through the real observer: the last value wins and no error stays.

    How many reloads a burst costs is the debounce schedule's arithmetic, tested below with a clock
    of the test's own; counting them here would depend on how busy the machine is.
    """
    values = [round(0.80 + 0.005 * index, 3) for index in range(30)]
    for value in values:
        write_in_place(config_path, with_sharpness(value))
    _, seen = wait_for(events, loaded(values[-1]))
    seen += drain_quiet(events)
    assert manager.config.sharpness == values[-1]
    assert manager.last_error is None
    assert seen[-1].error is None and seen[-1].config.sharpness == values[-1]


DELAY, MAX_WAIT = 0.05, 0.25
gaps = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40)


def poke_times(gap_list: list[float], start: float = 100.0) -> list[float]:
    times, now = [], start
    for gap in gap_list:
        now += gap
        times.append(now)
    return times


@given(gaps)
def test_a_burst_is_due_a_delay_after_its_last_poke_but_never_later_than_max_wait_after_its_first(gap_list):
    """The debounce rule, for any spacing of pokes that all land before the burst is taken."""
    schedule = DebounceSchedule(DELAY, MAX_WAIT)
    times = poke_times(gap_list)
    for moment in times:
        schedule.poke(moment)
    assert schedule.due == pytest.approx(min(times[-1] + DELAY, times[0] + MAX_WAIT))
    assert not schedule.take_if_due(schedule.due - 1e-9)
    assert schedule.take_if_due(schedule.due)
    assert schedule.due is None and not schedule.take_if_due(times[-1] + 10.0), "taken once, then idle"


@given(gaps)
def test_reloads_follow_the_pokes_at_most_max_wait_late_and_bursts_cost_few_reloads(gap_list):
    """Play pokes against a clock the test moves: check the schedule just before each poke.

    Every poke is followed by a reload within MAX_WAIT; pokes closer together than DELAY share one.
    """
    schedule = DebounceSchedule(DELAY, MAX_WAIT)
    reloads, times = [], poke_times(gap_list)
    for moment in times:
        if schedule.due is not None and schedule.due <= moment:
            reloads.append(schedule.due)
            assert schedule.take_if_due(schedule.due)
        schedule.poke(moment)
    reloads.append(schedule.due)
    for moment in times:
        first_after = min(r for r in reloads if r >= moment)
        assert first_after - moment <= MAX_WAIT + 1e-9
    assert len(reloads) <= 1 + sum(gap >= DELAY - 1e-9 for gap in gap_list[1:]) + (times[-1] - times[0]) / MAX_WAIT


def test_thirty_writes_in_a_tight_loop_cost_one_reload():
    """Pokes a millisecond apart, as the observer sends them for one save, make one burst."""
    schedule = DebounceSchedule(DELAY, MAX_WAIT)
    for index in range(30):
        assert not schedule.take_if_due(100.0 + index * 0.001)
        schedule.poke(100.0 + index * 0.001)
    assert schedule.due == pytest.approx(100.029 + DELAY)
    assert schedule.take_if_due(schedule.due)


def test_broken_yaml_keeps_last_good_and_fix_clears_error(manager, events, config_path):
    """A YAML syntax error keeps the last good config, names the file and the problem; fixing it clears the error."""
    write_in_place(config_path, with_sharpness(0.9))
    wait_for(events, loaded(0.9))

    write_in_place(config_path, with_sharpness("[0.8"))
    result, _ = wait_for(events, failed_with("not valid YAML"))
    assert manager.config.sharpness == 0.9
    assert result.config.sharpness == 0.9
    assert str(config_path) in manager.last_error
    assert "not valid YAML" in manager.last_error
    assert re.search(r"line \d+", manager.last_error)

    write_in_place(config_path, with_sharpness(0.8))
    wait_for(events, loaded(0.8))
    assert manager.last_error is None


def test_out_of_range_value_rejected_and_file_untouched(manager, events, config_path):
    """sharpness: -1 is rejected with the key and its allowed range, and the file on disk is left as written."""
    bad_text = with_sharpness(-1)
    write_in_place(config_path, bad_text)
    wait_for(events, failed_with("sharpness"))
    assert manager.config.sharpness == DEFAULT_SHARPNESS
    assert str(config_path) in manager.last_error
    assert "sharpness" in manager.last_error
    assert "allowed: a number > 0" in manager.last_error
    assert drain_quiet(events) == []  # nothing rewrote the file and triggered another reload
    assert config_path.read_text(encoding="utf-8") == bad_text
    assert sorted(os.listdir(config_path.parent)) == [config_path.name]


def test_half_written_file_ends_with_full_values(manager, events, config_path):
    """A file written in two halves may fail in between, but ends with the full file's values in force."""
    full = with_sharpness(0.9).replace("noise_scale_factor_rand_max: 0.95", "noise_scale_factor_rand_max: 0.9")
    data = full.encode("utf-8")
    cut = len(data) // 2
    while data[cut - 1:cut + 1].count(b"\n") or data[cut - 1:cut] == b" ":
        cut += 1  # cut mid-word, mid-line
    with open(config_path, "wb") as stream:
        stream.write(data[:cut])
        stream.flush()
        wait_for(events, lambda result: True)  # the manager has seen the half file
        stream.write(data[cut:])
    result, _ = wait_for(events, lambda r: r.error is None and r.config.noise_scale_factor_rand_max == 0.9)
    assert result.config.sharpness == 0.9
    assert manager.config == result.config
    assert manager.last_error is None


def test_empty_file_keeps_last_good(manager, events, config_path):
    """An empty file keeps the last good config and says the file is empty."""
    write_in_place(config_path, with_sharpness(0.9))
    wait_for(events, loaded(0.9))

    write_in_place(config_path, "")
    wait_for(events, failed_with("empty"))
    assert manager.config.sharpness == 0.9
    assert str(config_path) in manager.last_error
    assert "empty" in manager.last_error


def test_python_tag_rejected_and_not_executed(manager, events, config_path, tmp_path):
    """A !!python tag is rejected without running anything, and the last good config stays."""
    marker = tmp_path / "executed"
    write_in_place(config_path, with_sharpness(f"!!python/object/apply:os.system [\"touch '{marker}'\"]"))
    wait_for(events, failed_with("python"))
    assert not marker.exists()
    assert manager.config.sharpness == DEFAULT_SHARPNESS
    assert str(config_path) in manager.last_error
    assert "python" in manager.last_error


def test_own_save_applies_at_once_without_reload_loop(manager, events, config_path):
    """manager.save while watching puts the value in force at once, keeps comments, and causes no error or loop."""
    comments = [line for line in TEMPLATE.splitlines() if line.startswith("#")]
    saved = manager.save({"sharpness": 0.9})
    assert saved.sharpness == 0.9
    assert manager.config.sharpness == 0.9
    own = events.get_nowait()  # save() notifies synchronously
    assert own.error is None and own.changed and own.config.sharpness == 0.9

    echoes = drain_quiet(events)
    assert len(echoes) <= 1, f"reload loop: {describe(echoes)}"
    assert all(echo.error is None and not echo.changed for echo in echoes)
    assert manager.last_error is None
    assert manager.config.sharpness == 0.9
    text = config_path.read_text(encoding="utf-8")
    assert all(comment in text.splitlines() for comment in comments)


def test_start_twice_keeps_one_observer_and_stop_joins_threads(config_path):
    """A second start() adds no threads, and stop() joins every thread start() made."""
    before = set(threading.enumerate())
    watched = ConfigManager(config_path)
    try:
        watched.start()
        after_first = new_threads(before)
        assert after_first
        watched.start()
        assert len(new_threads(before)) == len(after_first)
        assert watched.watching
    finally:
        watched.stop()
    assert not watched.watching
    assert not any(thread.is_alive() for thread in after_first)
    assert new_threads(before) == []


def test_observer_threads_are_daemon_threads(config_path):
    """Every thread the manager starts is a daemon thread, so it never keeps the WebUI from exiting."""
    before = set(threading.enumerate())
    watched = ConfigManager(config_path)
    try:
        watched.start()
        started = new_threads(before)
        assert started
        assert all(thread.daemon for thread in started), [(t.name, t.daemon) for t in started]
    finally:
        watched.stop()


def test_save_with_bad_value_raises_and_writes_nothing(manager, config_path):
    """Saving an invalid value raises ConfigError, leaves the file byte-identical and the config in force unchanged."""
    original = config_path.read_bytes()
    in_force = manager.config
    with pytest.raises(ConfigError, match=r"sharpness.*allowed: a number > 0"):
        manager.save({"sharpness": -1})
    with pytest.raises(ConfigError, match="did you mean sharpness"):
        manager.save({"sharpnes": 0.9})
    assert config_path.read_bytes() == original
    assert manager.config is in_force
    assert sorted(os.listdir(config_path.parent)) == [config_path.name]


def test_save_refused_while_file_is_broken(manager, events, config_path):
    """Saving while the file holds broken YAML is refused and the user's edit in progress is left byte-identical."""
    write_in_place(config_path, with_sharpness("[0.8"))
    wait_for(events, failed_with("not valid YAML"))
    broken = config_path.read_bytes()
    with pytest.raises(ConfigError, match="not valid YAML"):
        manager.save({"end_blend": 0.45})
    assert config_path.read_bytes() == broken
    assert manager.config == KesConfig()
    assert sorted(os.listdir(config_path.parent)) == [config_path.name]


def test_save_keeps_comments_and_key_order(config_path):
    """Saving two keys keeps every comment and the key order, and writes the new values."""
    original = config_path.read_text(encoding="utf-8")
    ConfigManager(config_path).save({"sharpness": 0.9, "end_blend": 0.45})
    saved = config_path.read_text(encoding="utf-8")

    def keys(text):
        return re.findall(r"(?m)^(\w+):", text)

    def inline_comments(text):
        return {key: comment for key, comment in re.findall(r"(?m)^(\w+):[^#\n]*#\s*(.*)$", text)}

    saved_lines = saved.splitlines()
    assert all(line in saved_lines for line in original.splitlines() if line.startswith("#"))
    assert inline_comments(saved) == inline_comments(original)
    assert keys(saved) == keys(original)
    values = yaml.safe_load(saved)
    assert values["sharpness"] == 0.9
    assert values["end_blend"] == 0.45
    assert {k: v for k, v in values.items() if k not in ("sharpness", "end_blend")} == \
        {k: v for k, v in yaml.safe_load(original).items() if k not in ("sharpness", "end_blend")}


@settings(max_examples=60, deadline=None)
@given(sharpness=st.floats(min_value=1e-6, max_value=1.0), rho=st.floats(min_value=2.0, max_value=1e6),
       update_interval=st.integers(min_value=1, max_value=50), randomize=st.booleans(),
       sigma_min=st.none() | st.floats(min_value=1e-7, max_value=0.5))
def test_a_save_changes_only_the_values_it_writes(tmp_path_factory, sharpness, rho, update_interval, randomize,
                                                  sigma_min):
    """Whatever the values (tiny floats that YAML would read as text if written 1e-05 included), the
    file reads back as them, and every other character of the file is unchanged."""
    path = tmp_path_factory.mktemp("save") / "simple_kes.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    values = {"sharpness": sharpness, "rho": rho, "update_interval": update_interval, "randomize": randomize,
              "sigma_min": sigma_min}
    ConfigManager(path).save(values)
    saved = path.read_text(encoding="utf-8")
    assert config_file.read_config(path) == KesConfig().with_values(values)
    value_pattern = r"(?m)^(sharpness|rho|update_interval|randomize|sigma_min): [^ ]+"
    assert re.sub(value_pattern, r"\1: V", saved) == re.sub(value_pattern, r"\1: V", TEMPLATE)


def test_a_save_adds_a_missing_key_with_its_comment_and_refuses_a_layout_it_cannot_edit(config_path):
    config_path.write_text("# mine\nsharpness: 0.9  # keep\n", encoding="utf-8")
    ConfigManager(config_path).save({"rho": 6.5})
    lines = config_path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# mine", "sharpness: 0.9  # keep"]
    assert lines[2].startswith("rho: 6.5  # allowed: a number > 0")
    config_path.write_text("{sharpness: 0.9}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot write into this file's layout; put one key: value per line"):
        ConfigManager(config_path).save({"rho": 6.5})
    assert config_path.read_text(encoding="utf-8") == "{sharpness: 0.9}\n"


def test_failed_atomic_write_leaves_file_and_no_temporary(config_path, monkeypatch):
    """If the final rename fails, the original file is byte-identical and no temporary file is left behind."""
    original = config_path.read_bytes()
    unwatched = ConfigManager(config_path)
    unwatched.load()

    def failing_replace(source, destination):
        raise OSError("simulated failure to rename")

    monkeypatch.setattr(config_file.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        unwatched.save({"sharpness": 0.9})
    monkeypatch.undo()
    assert config_path.read_bytes() == original
    assert sorted(os.listdir(config_path.parent)) == [config_path.name]
    assert unwatched.config.sharpness == DEFAULT_SHARPNESS


def test_missing_user_file_is_created_from_template(tmp_path):
    """Loading a missing file in an existing folder creates it from the shipped template."""
    path = tmp_path / "fresh" / "simple_kes.yaml"
    path.parent.mkdir()
    result = ConfigManager(path).load()
    assert path.read_text(encoding="utf-8") == TEMPLATE
    assert result.error is None
    assert result.config == KesConfig()
    assert sorted(os.listdir(path.parent)) == [path.name]


def test_an_edit_during_start_up_is_not_missed(config_path):
    """The watch begins before the first load, so an edit right after that load is still seen."""
    manager = ConfigManager(config_path)
    received: queue.Queue = queue.Queue()

    def edit_after_first_load(result: LoadResult) -> None:
        if received.empty():
            write_in_place(config_path, with_sharpness(0.9))
        received.put(result)

    manager.subscribe(edit_after_first_load)
    manager.start()
    try:
        wait_for(received, loaded(0.9))
        assert manager.config.sharpness == 0.9
    finally:
        manager.stop()


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_created_config_gets_the_usual_file_mode(tmp_path):
    """Created from the template through a temporary file, it is still readable by others (umask applies)."""
    path = tmp_path / "simple_kes.yaml"
    umask = os.umask(0o022)
    try:
        ConfigManager(path).load()
    finally:
        os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
