"""The config in force, kept in memory and hot-reloaded by a watchdog observer.

The schedule never touches the disk: it reads ``ConfigManager.config``, which is replaced in one
assignment after a new file has parsed and validated. A file that fails keeps the last good config
in force and leaves the reason in ``last_error``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..config import ConfigError, KesConfig
from .config_file import ensure_user_config, read_config, save_config

logger = logging.getLogger("simple_kes")

KEEPING = "keeping the last good config"
# Events that mean the file's content may have changed. Opening or reading it (ours included) does
# not, and reacting to those would make every reload trigger the next one.
CHANGE_EVENTS = frozenset({"created", "modified", "moved", "deleted", "closed"})


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """The outcome of one (re)load: the config in force, whether it changed, and any error."""

    config: Any
    changed: bool
    error: str | None
    notices: tuple[str, ...] = ()


class ConfigManager:
    """Owns one config file: loads it, saves it atomically, and reloads it when it changes."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True, debounce_seconds: float = 0.05):
        self.path = Path(os.path.abspath(path))
        self._create = create
        self._debounce_seconds = debounce_seconds
        self._config = KesConfig()
        self._digest: str | None = None
        self.last_error: str | None = None
        self.notices: tuple[str, ...] = ()
        # Counts loads that changed what a page shows (new content or a new error), so a page can
        # tell "the file changed" from "nothing happened" with one comparison.
        self.version = 0
        self._io_lock = threading.RLock()
        self._listeners: list[Callable[[LoadResult], None]] = []
        self._observer: Any = None
        self._debouncer: _Debouncer | None = None

    @property
    def config(self) -> Any:
        """The config in force."""
        return self._config

    def subscribe(self, listener: Callable[[LoadResult], None]) -> Callable[[], None]:
        """Call ``listener`` after every load that read a new file content or failed anew; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self.unsubscribe(listener)

    def unsubscribe(self, listener: Callable[[LoadResult], None]) -> None:
        """Stop calling ``listener``; nothing happens if it was not subscribed."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def load(self) -> LoadResult:
        """Read the file now; on failure the config in force stays and ``last_error`` says why."""
        with self._io_lock:
            if self._create:
                # Only on first use: a file deleted later is an error to report, not one to replace.
                self._create = False
                ensure_user_config(self.path)
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return self._fail(f"{self.path}: the file is missing or was deleted; {KEEPING}")
            except (OSError, UnicodeDecodeError) as error:
                return self._fail(f"{self.path}: cannot be read ({error}); {KEEPING}")
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if digest == self._digest and self.last_error is None:
                return LoadResult(self._config, changed=False, error=None, notices=self.notices)
            try:
                config = read_config(self.path)
            except ConfigError as error:
                return self._fail(f"{error} ({KEEPING})")
            return self._succeed(config, digest)

    def save(self, values: Mapping[str, Any]) -> Any:
        """Validate ``values`` and write them to the file (atomically, comments kept); raises ConfigError."""
        with self._io_lock:
            config = save_config(self.path, values)
            text = self.path.read_text(encoding="utf-8")
            self._succeed(config, hashlib.sha256(text.encode("utf-8")).hexdigest())
            return config

    def _succeed(self, config: Any, digest: str) -> LoadResult:
        changed = config != self._config
        self._config, self._digest = config, digest
        self.last_error = None
        self.version += 1
        self.notices = tuple(config.notices())
        for notice in self.notices:
            logger.warning("%s: %s", self.path, notice)
        result = LoadResult(config, changed=changed, error=None, notices=self.notices)
        self._notify(result)
        return result

    def _fail(self, message: str) -> LoadResult:
        already_reported = message == self.last_error
        self.last_error = message
        if not already_reported:
            self.version += 1
        result = LoadResult(self._config, changed=False, error=message, notices=self.notices)
        if not already_reported:
            logger.error("%s", message)
            self._notify(result)
        return result

    def _notify(self, result: LoadResult) -> None:
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:  # a broken listener must not stop reloads
                logger.exception("simple_kes: config listener failed")

    @property
    def watching(self) -> bool:
        return self._observer is not None

    def start(self) -> None:
        """Watch the file's folder, then load it; calling it again while watching does nothing.

        The watch starts before the first load, so an edit made in between is never missed.
        """
        with self._io_lock:
            if self._observer is not None:
                return
            if self._create:
                self._create = False
                ensure_user_config(self.path)  # the folder must exist before it can be watched
            self._debouncer = _Debouncer(self._debounce_seconds, self.load)
            self._debouncer.start()
            observer = Observer()
            observer.daemon = True
            observer.schedule(_FileEventHandler(self.path, self._debouncer.poke), str(self.path.parent),
                              recursive=False)
            observer.start()
            self._observer = observer
            self.load()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching and join both threads."""
        with self._io_lock:
            observer, debouncer = self._observer, self._debouncer
            self._observer = self._debouncer = None
        if observer is not None:
            observer.stop()
            observer.join(timeout)
        if debouncer is not None:
            debouncer.stop(timeout)


class _FileEventHandler(FileSystemEventHandler):
    """Passes on events that concern one file, including editors' save-by-rename onto it."""

    def __init__(self, path: Path, on_change: Callable[[], None]):
        super().__init__()
        self._path = os.path.normcase(str(path))
        self._name = path.name
        self._on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in CHANGE_EVENTS:
            return
        paths = {os.path.normcase(os.fsdecode(event.src_path))}
        if getattr(event, "dest_path", ""):
            paths.add(os.path.normcase(os.fsdecode(event.dest_path)))
        if self._path in paths:
            self._on_change()


class DebounceSchedule:
    """When a burst of pokes is due: ``delay`` after the last poke, at most ``max_wait`` after the first.

    Plain arithmetic on the times it is given, so the timing rules are tested with any clock; the
    ``_Debouncer`` thread feeds it ``time.monotonic()``.
    """

    def __init__(self, delay: float, max_wait: float):
        self.delay = delay
        self.max_wait = max_wait
        self.due: float | None = None
        self._burst_started: float | None = None

    def poke(self, now: float) -> None:
        if self._burst_started is None:
            self._burst_started = now
        self.due = min(now + self.delay, self._burst_started + self.max_wait)

    def take_if_due(self, now: float) -> bool:
        """True (and the burst is over) if the burst is due at ``now``."""
        if self.due is None or now < self.due:
            return False
        self.due = self._burst_started = None
        return True


class _Debouncer(threading.Thread):
    """Runs ``action`` on its own thread when a burst of ``poke()`` calls is due (``DebounceSchedule``)."""

    def __init__(self, delay: float, action: Callable[[], Any], max_wait: float = 0.25):
        super().__init__(name="simple_kes-config-reload", daemon=True)
        self._schedule = DebounceSchedule(delay, max_wait)
        self._action = action
        self._condition = threading.Condition()
        self._stopping = False

    def poke(self) -> None:
        with self._condition:
            self._schedule.poke(time.monotonic())
            self._condition.notify()

    def run(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and not self._schedule.take_if_due(time.monotonic()):
                    due = self._schedule.due
                    self._condition.wait(None if due is None else max(due - time.monotonic(), 0.0))
                if self._stopping:
                    return
            try:
                self._action()
            except Exception:
                logger.exception("simple_kes: reloading the config failed")

    def stop(self, timeout: float) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self.join(timeout)
