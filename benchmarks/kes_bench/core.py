"""The core's costs: schedule speed, hot-reload latency, load and validation, chart redraw, start-up time.

Every figure is measured against a baseline timed in the same run (interleaved, medians), because the
machines are shared and noisy. Targets are reported, never enforced (this is a benchmark, not a test):
- a KES schedule computed anew costs at most 4x k-diffusion's Karras schedule for the same step count;
- a saved config file is in force within 250 ms at the 95th percentile, with no save missed;
- a chart redraw after a slider move costs under 100 ms of server time.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import queue
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import report
from .statistics import span, summarize_ms, summarize_seconds
from .timing import interleaved_medians, interleaved_process_times, time_ms

NAME = "bench_core"
STEP_COUNTS = (10, 30, 100, 1000)
MAX_SCHEDULE_RATIO = 4.0
MAX_RELOAD_P95_MS = 250.0
MAX_REDRAW_MS = 100.0
REDRAW_STEPS = 150
# Longest wait for one reload before it is counted as missed; far above any sane latency.
RELOAD_TIMEOUT_SECONDS = 5.0
# Quiet time between saves, so the manager's debouncer never merges two of them into one reload. Not
# part of any measured latency.
PAUSE_BETWEEN_SAVES_SECONDS = 0.1
SHARPNESS_LINE = re.compile(r"^sharpness:[^\S\n]*[^\s#]+", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much repetition a run does."""

    timing_rounds: int  # interleaved batches per schedule function and step count
    batch_seconds: float  # rough duration of one timed batch
    saves_per_series: int  # file saves per hot-reload series
    load_repeats: int  # timed manager.load() calls of each kind, and chart redraws
    validation_repeats: int  # timed validation sweeps
    startup_rounds: int  # fresh processes per start-up command


FULL = Settings(timing_rounds=21, batch_seconds=0.02, saves_per_series=50, load_repeats=30, validation_repeats=7,
                startup_rounds=10)
QUICK = Settings(timing_rounds=5, batch_seconds=0.005, saves_per_series=8, load_repeats=5, validation_repeats=2,
                 startup_rounds=2)


# --- 1. schedule computation speed -------------------------------------------------------------------

def bench_schedules(settings: Settings) -> list[dict[str, float]]:
    """Per step count: Karras; both k-diffusion schedules KES builds on; KES computed anew and repeated
    (from the cache); the WebUI's full path (config in force to sigmas)."""
    import simple_kes
    from simple_kes.schedule import get_sigmas_exponential, get_sigmas_karras

    low, high = simple_kes.SD_SIGMA_MIN, simple_kes.SD_SIGMA_MAX
    config = simple_kes.KesConfig()
    rows = []
    for n in STEP_COUNTS:
        medians = interleaved_medians({
            "karras": lambda: get_sigmas_karras(n, low, high),
            "two_schedules": lambda: (get_sigmas_karras(n, low, high), get_sigmas_exponential(n, low, high)),
            "kes": lambda: simple_kes.compute_sigmas(n, low, high),
            "kes_repeat": lambda: simple_kes.get_sigmas_karras_exponential(n, low, high),
            "full_path": lambda: simple_kes.sigmas_for_config(n, low, high, config),
        }, settings.timing_rounds, settings.batch_seconds)
        karras = medians["karras"]
        rows.append({"n": n, "karras_us": karras * 1e6,
                     **{f"{name}_us": medians[name] * 1e6 for name in medians if name != "karras"},
                     **{f"{name}_ratio": medians[name] / karras for name in medians if name != "karras"}})
    return rows


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

    def __init__(self, manager: Any):
        self._arrivals: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.unsubscribe = manager.subscribe(self._record)

    def _record(self, result: Any) -> None:
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
    from simple_kes.app.config_file import template_text
    from simple_kes.app.manager import ConfigManager

    count = settings.saves_per_series
    # Distinct values per save and per series (all <= 1, so always valid), so every save is a real
    # change and no result can be mistaken for another save's.
    series = {
        "in_place": (write_in_place, [f"{0.9000 + i * 0.001:.4f}" for i in range(count)]),
        "rename": (write_by_rename, [f"{0.8500 + i * 0.001:.4f}" for i in range(count)]),
    }
    template = template_text()
    results = {}
    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        path = Path(folder) / "simple_kes.yaml"
        path.write_text(template, encoding="utf-8")
        manager = ConfigManager(path)
        manager.start()
        try:
            probe = ReloadProbe(manager)
            time.sleep(PAUSE_BETWEEN_SAVES_SECONDS)  # let the observer settle before the first save
            for name, (write, values) in series.items():
                latencies_ms, missed = measure_reload_series(path, template, probe, write, values)
                results[name] = {"saves": len(values), "missed": missed, "latencies_ms": latencies_ms,
                                 **(summarize_ms(latencies_ms) if latencies_ms else {})}
            probe.unsubscribe()
        finally:
            manager.stop()
    return results


def debounce_ms() -> float:
    """The manager's default debounce: the wait after the last file event before a reload."""
    from simple_kes.app.manager import ConfigManager

    return inspect.signature(ConfigManager).parameters["debounce_seconds"].default * 1e3


# --- 3. load and validation cost, chart redraw ------------------------------------------------------

def bench_load(settings: Settings) -> dict[str, dict[str, float]]:
    """manager.load() when the file is unchanged (a hash check) and when it changed (parse + validate)."""
    from simple_kes.app.config_file import template_text
    from simple_kes.app.manager import ConfigManager

    template = template_text()
    # Two valid contents to alternate between, so every "changed" load sees a real change.
    contents = [with_sharpness(template, "0.9400"), with_sharpness(template, "0.9300")]
    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        path = Path(folder) / "simple_kes.yaml"
        path.write_text(contents[0], encoding="utf-8")
        manager = ConfigManager(path)  # never started: no observer reacting to our writes
        manager.load()
        unchanged = [time_ms(manager.load) for _ in range(settings.load_repeats)]
        changed = []
        for i in range(settings.load_repeats):
            write_in_place(path, contents[(i + 1) % 2])  # outside the timed part
            changed.append(time_ms(manager.load))
    return {"unchanged": summarize_ms(unchanged), "changed": summarize_ms(changed)}


def bench_validation(settings: Settings) -> dict[str, float]:
    """One validation sweep (n = 1..200): the schedule check every reload and save pays for."""
    from simple_kes.config import KesConfig
    from simple_kes.validation import STEP_SWEEP, sweep_problems

    config = KesConfig()
    sweep_problems(config)  # warm-up
    return {**summarize_ms([time_ms(lambda: sweep_problems(config)) for _ in range(settings.validation_repeats)]),
            "schedules": len(STEP_SWEEP), "first_steps": STEP_SWEEP[0], "last_steps": STEP_SWEEP[-1]}


def bench_redraw(settings: Settings) -> dict[str, float]:
    """Server time of one chart redraw after a slider move (chart, table and copyable text), 150 steps."""
    import simple_kes
    from simple_kes.app import panel
    from simple_kes.app.manager import ConfigManager

    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        manager = ConfigManager(Path(folder) / "simple_kes.yaml")
        manager.load()
        specs = panel.panel_specs(manager)
        values = panel.file_values(manager, specs)
        redraw = lambda: panel.redraw(manager, specs, REDRAW_STEPS, simple_kes.SD_SIGMA_MIN,  # noqa: E731
                                      simple_kes.SD_SIGMA_MAX, *values)
        redraw()  # warm-up
        return summarize_ms([time_ms(redraw) for _ in range(settings.load_repeats)])


# --- 4. start-up time --------------------------------------------------------------------------------

def startup_commands() -> dict[str, list[str]]:
    """The timed commands, each in a fresh process; ``baseline`` is a bare interpreter start."""
    python = sys.executable
    return {
        "baseline": [python, "-c", "pass"],
        "help": [python, "-m", "simple_kes", "--help"],
        "sigmas": [python, "-m", "simple_kes", "sigmas", "--steps", "20"],
        # What ``sigmas`` imports to compute: torch, NumPy and k-diffusion, through the core's schedule module.
        "core_import": [python, "-c", "import simple_kes.schedule"],
    }


STARTUP_LABELS = {"baseline": "python -c pass", "help": "python -m simple_kes --help",
                  "sigmas": "python -m simple_kes sigmas --steps 20",
                  "core_import": "python -c \"import simple_kes.schedule\""}


def bench_startup(settings: Settings) -> dict[str, Any]:
    """Wall time of each start-up command in fresh processes (interleaved rounds), with the user's config
    pointed at a copy of the template so that no one's own file changes the work."""
    from simple_kes.app.config_file import CONFIG_PATH_VARIABLE, template_text

    with tempfile.TemporaryDirectory(prefix="kes-bench-") as folder:
        config = Path(folder) / "simple_kes.yaml"
        config.write_text(template_text(), encoding="utf-8")
        times = interleaved_process_times(startup_commands(), settings.startup_rounds,
                                          env={CONFIG_PATH_VARIABLE: str(config)})
    return {"rounds": settings.startup_rounds, "labels": STARTUP_LABELS, "times_s": times,
            "summary": {name: summarize_seconds(values) for name, values in times.items()}}


# --- report ----------------------------------------------------------------------------------------

def build_report(results: Mapping[str, Any]) -> dict[str, Any]:
    """Each section's numbers, from the saved results only."""
    rows = results["schedule"]
    reload = results["hot_reload"]
    all_latencies = [ms for series in reload.values() for ms in series["latencies_ms"]]
    startup = results["startup"]["summary"]
    baseline = startup["baseline"]["median_s"]
    return {
        "schedule-speed": {
            "rows": rows, "steps": [row["n"] for row in rows], "target": MAX_SCHEDULE_RATIO,
            "spans": {name: list(span(row[f"{name}_ratio"] for row in rows))
                      for name in ("kes", "two_schedules", "kes_repeat", "full_path")}},
        "hot-reload": {
            "series": {name: {key: value for key, value in series.items() if key != "latencies_ms"}
                       for name, series in reload.items()},
            "overall": summarize_ms(all_latencies) if all_latencies else None,
            "missed": sum(series["missed"] for series in reload.values()),
            "debounce_ms": results["debounce_ms"], "observer": results["observer"],
            "target_p95_ms": MAX_RELOAD_P95_MS},
        "load-cost": {"load": results["load"], "validation": results["validation"]},
        "redraw": {**results["redraw"], "steps": REDRAW_STEPS, "target_ms": MAX_REDRAW_MS},
        "startup": {"rounds": results["startup"]["rounds"], "labels": results["startup"]["labels"],
                    "commands": {name: {**startup[name], "ratio_to_baseline": startup[name]["median_s"] / baseline}
                                 for name in startup}},
    }


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def schedule_speed_text(numbers: Mapping[str, Any]) -> str:
    spans, steps, target = numbers["spans"], numbers["steps"], numbers["target"]
    kes_low, kes_high = spans["kes"]
    text = (f"A new KES schedule (computed anew, as after any change of settings, steps or model) costs "
            f"{report.factor_span(*spans['kes'])} k-diffusion's Karras schedule at {steps[0]} to {steps[-1]} steps "
            f"(target at most {report.factor(target)} times: {_met(kes_high <= target)}). KES builds both "
            f"k-diffusion schedules, which alone cost {report.factor_span(*spans['two_schedules'])} one Karras "
            f"call, then blends, scales, sharpens and checks the result. A repeated schedule, served from the "
            f"cache of the pure function, costs {report.factor_span(*spans['kes_repeat'])} a Karras call, and the "
            f"WebUI's full path (config in force, overrides, draws, sigmas) {report.factor_span(*spans['full_path'])}."
            " Medians of interleaved batches, this run.")
    header = ["n", "Karras µs", "Karras + Exponential µs", "ratio", "KES new µs", "ratio", "KES repeat µs", "ratio",
              "full path µs", "ratio"]
    body = [[str(row["n"]), report.microseconds(row["karras_us"])]
            + [cell for name in ("two_schedules", "kes", "kes_repeat", "full_path")
               for cell in (report.microseconds(row[f"{name}_us"]), f"{report.factor(row[f'{name}_ratio'])}x")]
            for row in numbers["rows"]]
    return f"{text}\n\n{report.table(header, body, align_right_from=0)}"


def hot_reload_text(numbers: Mapping[str, Any]) -> str:
    overall = numbers["overall"]
    if overall is None:
        return "No reload arrived: every save was missed."
    met = overall["p95_ms"] < numbers["target_p95_ms"] and not numbers["missed"]
    text = (f"From saving the file to the new config in force (watchdog's {numbers['observer']}): "
            f"{report.milliseconds(overall['median_ms'])} ms "
            f"median, {report.milliseconds(overall['p95_ms'])} ms at the 95th percentile, over both kinds of "
            f"save; {numbers['missed']} missed (target: p95 under {numbers['target_p95_ms']:g} ms with none "
            f"missed: {_met(met)}). It includes the {numbers['debounce_ms']:g} ms debounce, which waits for the "
            "file to be quiet, and one load of the changed file (load-cost).")
    body = [[name, str(row["saves"]), str(row["missed"])]
            + ([report.milliseconds(row[key]) for key in ("median_ms", "p95_ms", "min_ms", "max_ms")]
               if "median_ms" in row else ["-"] * 4)
            for name, row in numbers["series"].items()]
    return f"{text}\n\n" + report.table(["save", "saves", "missed", "median ms", "p95 ms", "min ms", "max ms"], body,
                                        align_right_from=1)


def load_cost_text(numbers: Mapping[str, Any]) -> str:
    load, validation = numbers["load"], numbers["validation"]
    text = (f"Loading a changed file (read, parse, validate) costs {report.milliseconds(load['changed']['median_ms'])} "
            f"ms (median); its validity sweep alone, which computes the schedule for {validation['first_steps']} "
            f"to {validation['last_steps']} steps, costs {report.milliseconds(validation['median_ms'])} ms; an "
            f"unchanged file costs {report.milliseconds(load['unchanged']['median_ms'])} ms (a hash check).")
    body = [["load, file unchanged", report.milliseconds(load["unchanged"]["median_ms"]),
             report.milliseconds(load["unchanged"]["p95_ms"])],
            ["load, file changed", report.milliseconds(load["changed"]["median_ms"]),
             report.milliseconds(load["changed"]["p95_ms"])],
            [f"validation sweep, {validation['first_steps']} to {validation['last_steps']} steps",
             report.milliseconds(validation["median_ms"]), report.milliseconds(validation["p95_ms"])]]
    return f"{text}\n\n" + report.table(["operation", "median ms", "p95 ms"], body, align_right_from=1)


def redraw_text(numbers: Mapping[str, Any]) -> str:
    return (f"A chart redraw after a slider move ({numbers['steps']} steps: chart, table and text) costs "
            f"{report.milliseconds(numbers['median_ms'])} ms (p95 {report.milliseconds(numbers['p95_ms'])} ms) of "
            f"server time, against a {numbers['target_ms']:g} ms target: "
            f"{_met(numbers['p95_ms'] < numbers['target_ms'])}.")


def startup_text(numbers: Mapping[str, Any]) -> str:
    commands, labels = numbers["commands"], numbers["labels"]

    def quoted(name: str) -> str:
        row = commands[name]
        return (f"{report.seconds(row['median_s'])} s ({report.factor(row['ratio_to_baseline'])} times a bare "
                "interpreter start)")
    text = (f"Wall time of a fresh process, median of {numbers['rounds']} interleaved runs after a warm-up run: "
            f"`{labels['help']}` takes {quoted('help')}; `{labels['sigmas']}` takes {quoted('sigmas')}, nearly all "
            f"of it importing torch, NumPy and k-diffusion: a process that only imports the core's schedule "
            f"module (`{labels['core_import']}`) takes {report.seconds(commands['core_import']['median_s'])} s, "
            f"more than `sigmas` because it also spends the exit's garbage collection on what those imports made, "
            f"which the command line skips. `{labels['baseline']}` takes "
            f"{report.seconds(commands['baseline']['median_s'])} s.")
    body = [[f"`{labels[name]}`", report.seconds(row["median_s"]), report.seconds(row["min_s"]),
             report.seconds(row["max_s"]), f"{report.factor(row['ratio_to_baseline'])}x"]
            for name, row in commands.items()]
    return f"{text}\n\n" + report.table(["command", "median s", "min s", "max s", "median / python -c pass"], body,
                                        align_right_from=1)


def render(built: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [("schedule-speed", schedule_speed_text(built["schedule-speed"])),
            ("hot-reload", hot_reload_text(built["hot-reload"])),
            ("load-cost", load_cost_text(built["load-cost"])),
            ("redraw", redraw_text(built["redraw"])),
            ("startup", startup_text(built["startup"]))]


def write(results: dict[str, Any], folder: Path, extra_json: Path | None = None) -> Path:
    json_path, md_path = folder / f"{NAME}.json", folder / f"{NAME}.md"
    report.write_data_and_report(results, json_path, build_report, extra_json)
    report.write_markdown(md_path, report.header_line(results["written_by"], results.get("report_regenerated")),
                          render(results["report"]))
    return md_path


def run(settings: Settings) -> dict[str, Any]:
    steps = [("schedule", bench_schedules), ("hot_reload", bench_hot_reload), ("load", bench_load),
             ("validation", bench_validation), ("redraw", bench_redraw), ("startup", bench_startup)]
    from watchdog.observers import Observer

    results: dict[str, Any] = {"benchmark": NAME, "settings": dataclasses.asdict(settings),
                               "debounce_ms": debounce_ms(), "observer": Observer.__name__}
    for key, bench in steps:
        report.log(f"{key} ...")
        results[key] = bench(settings)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench_core.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test), to benchmarks/out")
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where bench_core.md and .json go (default benchmarks/results; benchmarks/out with "
                             "--quick)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the results JSON to PATH")
    parser.add_argument("--report-only", metavar="JSON", type=Path,
                        help="only write the .md again from a saved bench_core.json, without measuring")
    arguments = parser.parse_args(argv)
    if arguments.report_only:
        results = report.saved_run(arguments.report_only, NAME, "bench_core.py", argv)
        report.log(f"wrote {write(results, arguments.results or arguments.report_only.parent)}")
        return 0
    settings = QUICK if arguments.quick else FULL
    folder = report.results_folder(arguments.results, arguments.quick)
    started = time.perf_counter()
    record = report.run_record(argv, "bench_core.py")
    results = run(settings)
    record["run_seconds"] = time.perf_counter() - started
    md_path = write({"written_by": record, "quick": arguments.quick, **results}, folder, arguments.json)
    print(md_path.read_text(encoding="utf-8"))
    report.log(f"wrote {md_path} and {md_path.with_suffix('.json')}")
    return 0
