"""Timing on a shared, noisy machine: interleaved batches, medians, fresh processes.

Every timed thing is compared with a baseline timed in the same run, alternating between them, so
that a load burst from another user hits both alike; the median drops the batches it hit hardest.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from typing import Any, Callable, Mapping, Sequence


def batch_seconds_per_call(function: Callable[[], Any], calls: int) -> float:
    """Mean seconds per call over one batch of ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def calls_per_batch(function: Callable[[], Any], batch_seconds: float) -> int:
    """How many calls fill about ``batch_seconds``, so timer resolution and loop cost stay negligible."""
    function()  # warm-up: first calls pay for lazy imports and allocator growth
    estimate = min(batch_seconds_per_call(function, 3) for _ in range(3))
    return max(1, round(batch_seconds / max(estimate, 1e-9)))


def interleaved_medians(functions: Mapping[str, Callable[[], Any]], rounds: int,
                        batch_seconds: float) -> dict[str, float]:
    """Median seconds per call of each function, timed in alternating batches."""
    calls = {name: calls_per_batch(function, batch_seconds) for name, function in functions.items()}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            samples[name].append(batch_seconds_per_call(function, calls[name]))
    return {name: statistics.median(times) for name, times in samples.items()}


def time_ms(action: Callable[[], Any]) -> float:
    """Wall time of one call in milliseconds."""
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1e3


def process_seconds(command: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Wall time of one fresh process from spawn to exit; raises if it fails (a broken command is no timing)."""
    start = time.perf_counter()
    completed = subprocess.run(command, env=None if env is None else {**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        error = completed.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{' '.join(command)} exited with {completed.returncode}: {error[-1] if error else ''}")
    return elapsed


def interleaved_process_times(commands: Mapping[str, Sequence[str]], rounds: int,
                              env: Mapping[str, str] | None = None) -> dict[str, list[float]]:
    """Wall seconds of each command in fresh processes, one of each per round, after one untimed warm-up
    round (which writes any bytecode caches, as a user's first start would)."""
    for command in commands.values():
        process_seconds(command, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(process_seconds(command, env))
    return times
