"""Waiting on a config manager's loads by their events, never by sleeping (the watchdog tests' rule)."""

from __future__ import annotations

import queue


def reloaded(manager) -> queue.Queue:
    """A queue that receives every load result of ``manager`` from now on."""
    results = queue.Queue()
    manager.subscribe(results.put)
    return results


def wait_for(results: queue.Queue, predicate, timeout: float = 5.0):
    """The first load result that satisfies ``predicate``; queue.Empty after ``timeout`` seconds without one."""
    while True:
        result = results.get(timeout=timeout)
        if predicate(result):
            return result
