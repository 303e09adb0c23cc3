"""The statistics every benchmark reports: geometric means, percentiles, paired-bootstrap intervals."""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence

import torch

BOOTSTRAP_RESAMPLES = 1000
INTERVAL_LEVEL = 0.9


def geometric_mean(values: Iterable[float]) -> float:
    """exp(mean(log v)); a value of 0 counts as 1e-300 so that an exact result does not give -inf."""
    return math.exp(statistics.fmean(math.log(max(v, 1e-300)) for v in values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (``fraction`` in 0..1) of at least one value."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize_ms(values_ms: Sequence[float]) -> dict[str, float]:
    """Median, 95th percentile, min and max of latencies in milliseconds."""
    return {"median_ms": statistics.median(values_ms), "p95_ms": percentile(values_ms, 0.95),
            "min_ms": min(values_ms), "max_ms": max(values_ms)}


def summarize_seconds(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, min and max of wall times in seconds, and how many there were."""
    return {"runs": len(values), "median_s": statistics.median(values), "p25_s": percentile(values, 0.25),
            "p75_s": percentile(values, 0.75), "min_s": min(values), "max_s": max(values)}


def span(values: Iterable[float]) -> tuple[float, float]:
    """(smallest, largest): the range a sentence quotes."""
    values = list(values)
    return min(values), max(values)


class PairedBootstrap:
    """Paired-bootstrap intervals of geometric-mean RMS ratios: how far the batch's luck could move them.

    On multi-modal problems an RMS over ~1000 starts is dominated by the few that end in another mode,
    so one batch can move a ratio by several percent. Each resample redraws the starts of every
    problem with replacement, the same draw for the schedule and for its baseline (they share the
    starts). The draws are seeded per problem, so every schedule is judged on the same resamples.
    """

    def __init__(self, seed: int, resamples: int = BOOTSTRAP_RESAMPLES, level: float = INTERVAL_LEVEL):
        self.seed = seed
        self.resamples = resamples
        self.level = level
        self._starts: dict[tuple[str, int], torch.Tensor] = {}

    def resampled_starts(self, problem: str, count: int) -> torch.Tensor:
        """(resamples, count) start indices for ``problem``, drawn once and reused for every schedule."""
        key = (problem, count)
        if key not in self._starts:
            generator = torch.Generator().manual_seed(self.seed + sum(map(ord, problem)))
            self._starts[key] = torch.randint(count, (self.resamples, count), generator=generator)
        return self._starts[key]

    def log_rms(self, problem: str, squared: torch.Tensor) -> torch.Tensor:
        """log of the RMS in every resample, from per-start squared errors."""
        return 0.5 * squared[self.resampled_starts(problem, len(squared))].mean(1).log()

    def interval(self, pairs: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
        """Interval of the geometric mean over problems of RMS / baseline RMS, from (``log_rms`` of the
        schedule, ``log_rms`` of the baseline) per problem."""
        logs = torch.zeros(self.resamples, dtype=torch.float64)
        for log_rms, baseline_log_rms in pairs:
            logs += log_rms - baseline_log_rms
        ratios = (logs / len(pairs)).exp()
        tail = (1 - self.level) / 2
        return float(ratios.quantile(tail)), float(ratios.quantile(1 - tail))
