"""Benchmarks for the Simple KES core: schedule speed, hot-reload latency, load and validation cost.

Run from the repository root with the project's venv active:

    python benchmarks/bench_core.py            # full run, well under 2 minutes
    python benchmarks/bench_core.py --quick    # fewer repetitions, a smoke test
    python benchmarks/bench_core.py --json benchmarks/out/core.json

Targets (reported, never enforced; this is a benchmark, not a test):
- the KES schedule costs at most 4x k-diffusion's Karras schedule for the same step count;
- a saved config file is in force within 250 ms at the 95th percentile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import queue
import re
import statistics
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

# k-diffusion imports clip-anytorch, which imports the deprecated pkg_resources; the warning is
# noise in the benchmark's output.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import torch  # noqa: E402
from k_diffusion.sampling import get_sigmas_karras  # noqa: E402
from watchdog.observers import Observer  # noqa: E402

import simple_kes  # noqa: E402
# Internal pieces the benchmark needs: the schedule cache (to time a schedule computed anew) and the
# per-reload validation sweep.
from simple_kes.schedule import _cached_sigmas  # noqa: E402
from simple_kes.scheduler import schedule_problems  # noqa: E402

SIGMA_MIN = 0.0292
SIGMA_MAX = 14.6146
STEP_COUNTS = (10, 30, 100, 1000)
MAX_SCHEDULE_RATIO = 4.0
MAX_RELOAD_P95_MS = 250.0
# Longest wait for one reload before it is counted as missed; far above any sane latency.
RELOAD_TIMEOUT_SECONDS = 5.0
# Quiet time between saves, so the manager's debouncer (50 ms) never merges two of them into one
# reload. Not part of any measured latency.
PAUSE_BETWEEN_SAVES_SECONDS = 0.1
SHARPNESS_LINE = re.compile(r"^sharpness:[^\S\n]*[^\s#]+", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much repetition a run does."""

    timing_rounds: int  # interleaved batches per schedule function and step count
    batch_seconds: float  # rough duration of one timed batch
    saves_per_series: int  # file saves per hot-reload series
    load_repeats: int  # timed manager.load() calls of each kind
    validation_repeats: int  # timed schedule_problems() sweeps


FULL = Settings(timing_rounds=21, batch_seconds=0.02, saves_per_series=50, load_repeats=30, validation_repeats=7)
QUICK = Settings(timing_rounds=5, batch_seconds=0.005, saves_per_series=8, load_repeats=5, validation_repeats=2)


# --- reporting helpers -----------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    """What the numbers were measured on; the reload numbers depend on the observer backend."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "k_diffusion": metadata.version("k-diffusion"),
        "watchdog": metadata.version("watchdog"),
        "observer": Observer.__name__,
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Linear-interpolated percentile (``fraction`` in 0..1) of at least one value."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize_ms(values_ms: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(values_ms), "p95_ms": percentile(values_ms, 0.95),
            "min_ms": min(values_ms), "max_ms": max(values_ms)}


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# --- 1. schedule computation speed -------------------------------------------------------------------

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


def interleaved_medians(functions: dict[str, Callable[[], Any]], rounds: int,
                        batch_seconds: float) -> dict[str, float]:
    """Median seconds per call of each function, timed in alternating batches.

    Alternating spreads the machine's load drifts (it is shared) evenly over the functions being
    compared, and the median drops batches hit by a burst of someone else's work.
    """
    calls = {name: calls_per_batch(function, batch_seconds) for name, function in functions.items()}
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            samples[name].append(batch_seconds_per_call(function, calls[name]))
    return {name: statistics.median(times) for name, times in samples.items()}


def kes_uncached(n: int) -> Any:
    """A KES schedule computed from scratch, as after any change of settings, steps or model."""
    _cached_sigmas.cache_clear()
    return simple_kes.get_sigmas_karras_exponential(n, SIGMA_MIN, SIGMA_MAX)


def bench_schedules(settings: Settings) -> list[dict[str, float]]:
    """Per step count: Karras; KES computed anew and repeated (cached); the WebUI's full path."""
    config = simple_kes.KesConfig()
    rows = []
    for n in STEP_COUNTS:
        medians = interleaved_medians({
            "karras": lambda: get_sigmas_karras(n, SIGMA_MIN, SIGMA_MAX),
            "kes": lambda: kes_uncached(n),
            "kes_repeat": lambda: simple_kes.get_sigmas_karras_exponential(n, SIGMA_MIN, SIGMA_MAX),
            "full_path": lambda: simple_kes.sigmas_for_config(n, SIGMA_MIN, SIGMA_MAX, config),
        }, settings.timing_rounds, settings.batch_seconds)
        karras = medians["karras"]
        rows.append({
            "n": n,
            "karras_us": karras * 1e6,
            "kes_us": medians["kes"] * 1e6,
            "kes_ratio": medians["kes"] / karras,
            "kes_repeat_us": medians["kes_repeat"] * 1e6,
            "kes_repeat_ratio": medians["kes_repeat"] / karras,
            "full_path_us": medians["full_path"] * 1e6,
            "full_path_ratio": medians["full_path"] / karras,
        })
    return rows


def print_schedule_table(rows: list[dict[str, float]]) -> None:
    print("## Schedule computation (median per call, interleaved batches)\n")
    print("KES new: computed from scratch (new settings). KES repeat: same request again, served from the")
    print("cache. Full path: config to sigmas as the WebUI calls it, repeated.\n")
    print("| n | Karras µs | KES new µs | ratio | KES repeat µs | ratio | full path µs | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['n']} | {row['karras_us']:.1f} | {row['kes_us']:.1f} | {row['kes_ratio']:.2f}x "
              f"| {row['kes_repeat_us']:.1f} | {row['kes_repeat_ratio']:.2f}x "
              f"| {row['full_path_us']:.1f} | {row['full_path_ratio']:.2f}x |")
    worst = max(row["kes_ratio"] for row in rows)
    worst_repeat = max(row["kes_repeat_ratio"] for row in rows)
    print(f"\nTarget KES/Karras <= {MAX_SCHEDULE_RATIO:g}x: new {verdict(worst <= MAX_SCHEDULE_RATIO)} "
          f"(worst {worst:.2f}x); repeat {verdict(worst_repeat <= MAX_SCHEDULE_RATIO)} (worst {worst_repeat:.2f}x)\n")


# --- 2. hot-reload latency ---------------------------------------------------------------------------

def with_sharpness(text: str, value: str) -> str:
    """The config text with its top-level ``sharpness`` value replaced, comment kept."""
    new_text, count = SHARPNESS_LINE.subn(f"sharpness: {value}", text, count=1)
    if count != 1:
        raise RuntimeError("the config template has no 'sharpness:' line to edit")
    return new_text


def write_in_place(path: Path, text: str) -> None:
    """A plain save: truncate and rewrite the same file."""
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)


def write_by_rename(path: Path, text: str) -> None:
    """An editor-style save: write a temporary file beside it, then rename it over the original."""
    temporary = path.with_name(f".{path.name}.bench-tmp")
    with open(temporary, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


class ReloadProbe:
    """Timestamps every load result the manager announces, on the thread that announces it."""

    def __init__(self, manager: simple_kes.ConfigManager):
        self._arrivals: queue.Queue[tuple[float, simple_kes.LoadResult]] = queue.Queue()
        self.unsubscribe = manager.subscribe(self._record)

    def _record(self, result: simple_kes.LoadResult) -> None:
        # Stamp first: anything done before the stamp would count as reload latency.
        self._arrivals.put((time.perf_counter(), result))

    def wait_for_sharpness(self, sharpness: float, timeout: float) -> float | None:
        """perf_counter() at which a config with this sharpness arrived, or None on timeout.

        Results for other values (a late duplicate reload, an error) are skipped.
        """
        deadline = time.perf_counter() + timeout
        while (remaining := deadline - time.perf_counter()) > 0:
            try:
                arrived, result = self._arrivals.get(timeout=remaining)
            except queue.Empty:
                return None
            if result.error is None and result.config.sharpness == sharpness:
                return arrived
        return None


def measure_reload_series(path: Path, template: str, probe: ReloadProbe, write: Callable[[Path, str], None],
                          values: list[str]) -> tuple[list[float], int]:
    """Latency in ms from just before each save to the listener seeing it, and the number missed."""
    latencies_ms, missed = [], 0
    for value in values:
        text = with_sharpness(template, value)
        start = time.perf_counter()
        write(path, text)
        arrived = probe.wait_for_sharpness(float(value), RELOAD_TIMEOUT_SECONDS)
        if arrived is None:
            missed += 1
        else:
            latencies_ms.append((arrived - start) * 1e3)
        time.sleep(PAUSE_BETWEEN_SAVES_SECONDS)
    return latencies_ms, missed


def bench_hot_reload(settings: Settings) -> dict[str, dict[str, float]]:
    """Save the watched file repeatedly, in place and by rename, and time each reload."""
    count = settings.saves_per_series
    # Distinct values per save and per series (all <= 1, so always valid), so every save is a real
    # change and no result can be mistaken for another save's.
    series = {
        "in_place": (write_in_place, [f"{0.9000 + i * 0.001:.4f}" for i in range(count)]),
        "rename": (write_by_rename, [f"{0.8500 + i * 0.001:.4f}" for i in range(count)]),
    }
    template = simple_kes.TEMPLATE_PATH.read_text(encoding="utf-8")
    results = {}
    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        path = Path(folder) / "simple_kes.yaml"
        path.write_text(template, encoding="utf-8")
        manager = simple_kes.ConfigManager(path)
        manager.start()
        try:
            probe = ReloadProbe(manager)
            time.sleep(PAUSE_BETWEEN_SAVES_SECONDS)  # let the observer settle before the first save
            for name, (write, values) in series.items():
                latencies_ms, missed = measure_reload_series(path, template, probe, write, values)
                results[name] = {"saves": len(values), "missed": missed,
                                 **(summarize_ms(latencies_ms) if latencies_ms else {})}
            probe.unsubscribe()
        finally:
            manager.stop()
    return results


def print_reload_table(results: dict[str, dict[str, float]]) -> None:
    print("## Hot-reload latency (save -> listener sees the new config)\n")
    print("| save | saves | missed | median ms | p95 ms | min ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, row in results.items():
        if "median_ms" in row:
            print(f"| {name} | {row['saves']} | {row['missed']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} "
                  f"| {row['min_ms']:.1f} | {row['max_ms']:.1f} |")
        else:
            print(f"| {name} | {row['saves']} | {row['missed']} | - | - | - | - |")
    worst = max(row.get("p95_ms", float("inf")) for row in results.values())
    any_missed = any(row["missed"] for row in results.values())
    met = worst < MAX_RELOAD_P95_MS and not any_missed
    print(f"\nTarget p95 < {MAX_RELOAD_P95_MS:g} ms with no missed reloads: {verdict(met)} (worst p95 {worst:.1f} ms)\n")


# --- 3. load and validation cost ---------------------------------------------------------------------

def time_ms(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1e3


def bench_load(settings: Settings) -> dict[str, dict[str, float]]:
    """manager.load() when the file is unchanged (a hash check) and when it changed (parse + validate)."""
    template = simple_kes.TEMPLATE_PATH.read_text(encoding="utf-8")
    # Two valid contents to alternate between, so every "changed" load sees a real change.
    contents = [with_sharpness(template, "0.9400"), with_sharpness(template, "0.9300")]
    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        path = Path(folder) / "simple_kes.yaml"
        path.write_text(contents[0], encoding="utf-8")
        manager = simple_kes.ConfigManager(path)  # never started: no observer reacting to our writes
        manager.load()
        unchanged = [time_ms(manager.load) for _ in range(settings.load_repeats)]
        changed = []
        for i in range(settings.load_repeats):
            write_in_place(path, contents[(i + 1) % 2])  # outside the timed part
            changed.append(time_ms(manager.load))
    return {"unchanged": summarize_ms(unchanged), "changed": summarize_ms(changed)}


def bench_validation(settings: Settings) -> dict[str, float]:
    """One schedule_problems() sweep (n = 1..200), the validation every reload and save pays for."""
    config = simple_kes.KesConfig()
    schedule_problems(config)  # warm-up
    return summarize_ms([time_ms(lambda: schedule_problems(config)) for _ in range(settings.validation_repeats)])


REDRAW_STEPS = 150
MAX_REDRAW_MS = 100.0


def bench_redraw(settings: Settings) -> dict[str, float]:
    """Server time of one chart redraw after a slider move (chart, table and copyable text), 150 steps."""
    from simple_kes import panel
    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        manager = simple_kes.ConfigManager(Path(folder) / "simple_kes.yaml")
        manager.load()
        specs = panel.panel_specs(manager)
        values = panel.file_values(manager, specs)
        redraw = lambda: panel.redraw(manager, specs, REDRAW_STEPS, SIGMA_MIN, SIGMA_MAX, *values)  # noqa: E731
        redraw()  # warm-up
        return summarize_ms([time_ms(redraw) for _ in range(settings.load_repeats)])


def print_redraw(redraw: dict[str, float]) -> None:
    print(f"## Chart redraw after a slider move ({REDRAW_STEPS} steps, server time)\n")
    print("| median ms | p95 ms |")
    print("|---:|---:|")
    print(f"| {redraw['median_ms']:.2f} | {redraw['p95_ms']:.2f} |")
    print(f"\nTarget < {MAX_REDRAW_MS:g} ms: {verdict(redraw['p95_ms'] < MAX_REDRAW_MS)}\n")


def print_costs(load: dict[str, dict[str, float]], validation: dict[str, float]) -> None:
    print("## Load and validation cost (median ms)\n")
    print("| operation | median ms | p95 ms |")
    print("|---|---:|---:|")
    print(f"| manager.load(), file unchanged | {load['unchanged']['median_ms']:.3f} | {load['unchanged']['p95_ms']:.3f} |")
    print(f"| manager.load(), file changed | {load['changed']['median_ms']:.3f} | {load['changed']['p95_ms']:.3f} |")
    print(f"| schedule_problems(KesConfig()), n = 1..200 | {validation['median_ms']:.3f} "
          f"| {validation['p95_ms']:.3f} |")
    print()


# --- entry point -------------------------------------------------------------------------------------

def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the numbers as JSON to PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    settings = QUICK if arguments.quick else FULL
    started = time.perf_counter()

    machine = machine_info()
    print(f"python {machine['python']} | torch {machine['torch']} | k-diffusion {machine['k_diffusion']} | "
          f"watchdog {machine['watchdog']} ({machine['observer']}) | CPUs {machine['cpu_count']} "
          f"(usable {machine['usable_cpus']}, torch threads {machine['torch_threads']}) | {machine['platform']}"
          f"{' | --quick' if arguments.quick else ''}\n")

    schedules = bench_schedules(settings)
    print_schedule_table(schedules)
    reload = bench_hot_reload(settings)
    print_reload_table(reload)
    load, validation = bench_load(settings), bench_validation(settings)
    print_costs(load, validation)
    redraw = bench_redraw(settings)
    print_redraw(redraw)

    elapsed = time.perf_counter() - started
    print(f"Total benchmark time: {elapsed:.1f} s")
    if arguments.json:
        report = {"machine": machine, "quick": arguments.quick, "settings": dataclasses.asdict(settings),
                  "schedule": schedules, "hot_reload": reload, "load": load, "validation": validation, "redraw": redraw,
                  "elapsed_s": elapsed}
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"Wrote {arguments.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
