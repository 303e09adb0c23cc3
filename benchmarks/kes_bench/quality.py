"""The schedule-quality benchmark: k-diffusion's real samplers on problems whose exact answer is known.

``run`` samples every problem (``problems.py``) with every compared schedule (``schedules.py``),
denoiser variant, sampler and step count (``evaluation.py``), computes the paired-bootstrap intervals
(which need the per-start errors, so they are computed here and saved) and times the schedules.
``build_report`` turns the saved results into the numbers of every section and ``render`` into the
.md's text; both read only the saved JSON, so ``--report-only`` regenerates them without sampling.

The headline numbers are ratios to Karras rho 7: for one cell (sampler, step count) the geometric
mean over a group's problems of the schedule's score / Karras's on the same starts. Two groups:
search problems (used to choose the presets) and held-out ones (never run by the preset search).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch

from . import figure, report
from .evaluation import (DENOISER_VARIANTS, DETERMINISTIC, PER_START, SAMPLERS, SQUARED_DISTANCES, SQUARED_ERRORS,
                         STEP_COUNTS, run_problem)
from .problems import NOISE_SEED, REFERENCE_CHECK_FACTOR, SD_SIGMA_MAX, SD_SIGMA_MIN, Mixture, all_problems
from .schedules import BASELINE, KES_DEFAULTS, DEFAULTS_PRESET, compared_schedules, is_kes, preset_name
from .statistics import INTERVAL_LEVEL, PairedBootstrap, geometric_mean, span
from .timing import interleaved_medians

NAME = "quality"
SUMMARY_SAMPLERS = ("euler", "dpmpp_2m")
SUMMARY_STEPS = (10, 20)
# The variant the headline tables use when it ran: a perfect model behind k-diffusion's SD wrapper.
HEADLINE_VARIANT = "sd-clamped"
GROUPS = ("search", "held-out")
ODE_ERROR, FINE_DETAIL = "ode_error", "fine_detail"
METRIC_OF = {ODE_ERROR: "ode_error", FINE_DETAIL: "score"}  # the row field each ratio divides
PER_START_OF = {ODE_ERROR: SQUARED_ERRORS, FINE_DETAIL: SQUARED_DISTANCES}
METRIC_WORDS = {ODE_ERROR: "ODE error", FINE_DETAIL: "fine detail"}
# Two schedules whose sigmas differ by less than this (relative) at every step count are the same
# schedule up to float rounding, and are shown once.
SAME_SIGMAS = 1e-5
# A ratio this far above 1 is quoted as a multiple ("2.5 times"), below it as a percentage.
MULTIPLE_FROM = 1.5


@dataclasses.dataclass(frozen=True)
class Settings:
    problem_names: tuple[str, ...] | None  # None: all
    steps: tuple[int, ...]
    batch: int
    variants: tuple[str, ...]
    samplers: tuple[str, ...]
    timing_rounds: int


FULL = Settings(None, STEP_COUNTS, 1024, tuple(DENOISER_VARIANTS), SAMPLERS, 15)
# A smoke run that still fills every section: a mixture and a data set in each group.
QUICK = Settings(("mix-8d", "data-16d", "ring-2d", "data-24d"), (5, 10, 20), 128, ("exact", "sd-clamped"),
                 SAMPLERS, 5)


def group_name(held_out: bool) -> str:
    return "held-out" if held_out else "search"


def cell_name(sampler: str, steps: int) -> str:
    return f"{sampler}@{steps}"


# --- the run ---------------------------------------------------------------------------------------

def chosen_problems(settings: Settings) -> list[Mixture]:
    problems = all_problems()
    if settings.problem_names is None:
        return problems
    unknown = sorted(set(settings.problem_names) - {p.name for p in problems})
    if unknown:
        raise SystemExit(f"--problems: unknown {', '.join(unknown)}; allowed: {', '.join(p.name for p in problems)}")
    return [p for p in problems if p.name in settings.problem_names]


def run(settings: Settings, workers: int, log: Callable[[str], None] = report.log) -> dict[str, Any]:
    """Sample, score, bootstrap and time: the saved results (without report and run record)."""
    # The tensors are small (a few hundred x 64): thread hand-offs cost more than they save, and on a
    # shared machine a second thread makes timings erratic.
    torch.set_num_threads(1)
    problems = chosen_problems(settings)
    functions = compared_schedules()
    schedule_table = {name: {n: function(n).to(torch.float64) for n in settings.steps}
                      for name, function in functions.items()}
    for problem in problems:
        log(f"{problem.name} ({group_name(problem.held_out)}): {problem.description}")
    tasks = [(problem, settings.variants, settings.samplers, settings.batch, schedule_table, log)
             for problem in problems]
    if workers > 1:
        # One process per problem at a time: the problems are independent and each runs single-threaded.
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            outcomes = pool.starmap(run_problem, tasks, chunksize=1)
    else:
        outcomes = [run_problem(*task) for task in tasks]
    rows = [row for problem_rows, _ in outcomes for row in problem_rows]
    log("bootstrap intervals")
    intervals = bootstrap_intervals(rows)
    log("timing the schedules")
    timing = time_schedules(functions, settings.steps, settings.timing_rounds)
    return {
        "benchmark": NAME,
        "settings": dataclasses.asdict(settings),
        "problems": {p.name: {"held_out": p.held_out, "data_set": p.is_data_set, "description": p.description,
                              **facts} for p, (_, facts) in zip(problems, outcomes)},
        "schedules": {name: {str(n): s.tolist() for n, s in by_steps.items()}
                      for name, by_steps in schedule_table.items()},
        "time_ratio_to_karras": {name: {str(n): r for n, r in by_n.items()} for name, by_n in timing.items()},
        "intervals": intervals,
        "results": [{key: value for key, value in row.items() if key not in PER_START} for row in rows],
    }


def bootstrap_intervals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """metric -> variant -> group -> schedule -> 'sampler@steps' -> [low, high]: the paired-bootstrap 90%
    interval of the geometric-mean ratio to Karras, for every cell with per-start values."""
    bootstrap = PairedBootstrap(NOISE_SEED)
    baseline_logs: dict[tuple[str, ...], torch.Tensor] = {}
    baselines = {(row["variant"], row["problem"], row["sampler"], row["steps"]): row
                 for row in rows if row["schedule"] == BASELINE}
    intervals: dict[str, Any] = {}
    for metric, per_start in PER_START_OF.items():
        groups: dict[tuple[str, str, str, str], list[tuple[torch.Tensor, torch.Tensor]]] = {}
        for row in rows:
            if row["schedule"] == BASELINE or row[per_start] is None:
                continue
            base_key = (row["variant"], row["problem"], row["sampler"], row["steps"])
            if (metric, *base_key) not in baseline_logs:
                baseline_logs[(metric, *base_key)] = bootstrap.log_rms(row["problem"], baselines[base_key][per_start])
            key = (row["variant"], group_name(row["held_out"]), row["schedule"],
                   cell_name(row["sampler"], row["steps"]))
            groups.setdefault(key, []).append((bootstrap.log_rms(row["problem"], row[per_start]),
                                               baseline_logs[(metric, *base_key)]))
        table: dict[str, Any] = {}
        for (variant, group, schedule, cell), pairs in groups.items():
            table.setdefault(variant, {}).setdefault(group, {}).setdefault(schedule, {})[cell] = list(
                bootstrap.interval(pairs))
        intervals[metric] = table
    return intervals


def time_schedules(functions: Mapping[str, Callable[[int], torch.Tensor]], steps: Sequence[int],
                   rounds: int) -> dict[str, dict[int, float]]:
    """Per schedule and step count: median seconds per computation relative to Karras (KES computed anew)."""
    ratios: dict[str, dict[int, float]] = {name: {} for name in functions}
    for n in steps:
        medians = interleaved_medians({name: (lambda f=function: f(n)) for name, function in functions.items()},
                                      rounds, batch_seconds=0.01)
        for name in functions:
            ratios[name][n] = medians[name] / medians[BASELINE]
    return ratios


# --- reading saved results -------------------------------------------------------------------------

class Saved:
    """An index over a saved run: ratios to Karras by metric, variant, group, schedule and cell."""

    def __init__(self, results: Mapping[str, Any]):
        self.results = results
        self.settings = results["settings"]
        self.steps = tuple(self.settings["steps"])
        self.samplers = tuple(self.settings["samplers"])
        self.variants = tuple(self.settings["variants"])
        self.problems = results["problems"]
        self.schedule_names = list(results["schedules"])
        self.rows = {(r["variant"], r["problem"], r["schedule"], r["sampler"], r["steps"]): r
                     for r in results["results"]}
        self.intervals = results["intervals"]
        self.same_as = coinciding_schedules(results["schedules"])
        self.shown = [name for name in self.schedule_names if name not in self.same_as]

    @property
    def headline(self) -> str:
        return HEADLINE_VARIANT if HEADLINE_VARIANT in self.variants else self.variants[0]

    def group_problems(self, group: str, metric: str = ODE_ERROR) -> list[str]:
        """The group's problems that have this metric (fine detail: the data sets)."""
        return [name for name, facts in self.problems.items() if group_name(facts["held_out"]) == group
                and (metric == ODE_ERROR or facts["data_set"])]

    def ratio(self, metric: str, variant: str, group: str, schedule: str, sampler: str, steps: int) -> list | None:
        """[ratio, low, high] (low and high None for Karras itself or without an interval), or None."""
        field = METRIC_OF[metric]
        ratios = []
        for problem in self.group_problems(group, metric):
            row = self.rows.get((variant, problem, schedule, sampler, steps))
            base = self.rows.get((variant, problem, BASELINE, sampler, steps))
            if row is None or base is None or row[field] is None:
                continue
            ratios.append(row[field] / base[field])
        if not ratios:
            return None
        interval = (self.intervals.get(metric, {}).get(variant, {}).get(group, {}).get(schedule, {})
                    .get(cell_name(sampler, steps), [None, None]))
        return [geometric_mean(ratios), *interval]

    def cells(self, samplers: Iterable[str] = SUMMARY_SAMPLERS, steps: Iterable[int] = SUMMARY_STEPS) -> list[tuple]:
        return [(s, n) for s in samplers if s in self.samplers for n in steps if n in self.steps]

    def presets(self) -> list[str]:
        return [name for name in self.shown if preset_name(name)]


def coinciding_schedules(schedules: Mapping[str, Mapping[str, list[float]]]) -> dict[str, str]:
    """Schedule -> an earlier one with the same sigmas at every step count (up to float rounding)."""
    same_as: dict[str, str] = {}
    names = list(schedules)
    for i, name in enumerate(names):
        for earlier in names[:i]:
            if earlier not in same_as and _same_sigmas(schedules[name], schedules[earlier]):
                same_as[name] = earlier
                break
    return same_as


def _same_sigmas(a: Mapping[str, list[float]], b: Mapping[str, list[float]]) -> bool:
    if a.keys() != b.keys():
        return False
    for n in a:
        if len(a[n]) != len(b[n]):
            return False
        if any(abs(x - y) > SAME_SIGMAS * max(abs(y), 1e-12) for x, y in zip(a[n], b[n])):
            return False
    return True


# --- the report's numbers --------------------------------------------------------------------------

def build_report(results: Mapping[str, Any]) -> dict[str, Any]:
    """Section name -> the numbers it shows, computed from the saved results only."""
    saved = Saved(results)
    built: dict[str, Any] = {"verdict": verdict_numbers(saved)}
    for group in GROUPS:
        built[f"ode-error-{group}"] = summary_numbers(saved, ODE_ERROR, saved.headline, group)
    built["fine-detail"] = {group: summary_numbers(saved, FINE_DETAIL, saved.headline, group) for group in GROUPS}
    for schedule in saved.presets():
        name = preset_name(schedule)
        built[f"{name}-by-steps"] = by_steps_numbers(saved, schedule, "held-out")
        built[f"{name}-by-steps-search"] = by_steps_numbers(saved, schedule, "search")
    if "exact" in saved.variants and saved.headline != "exact":
        built["exact-denoiser"] = exact_numbers(saved)
    built["speed"] = speed_numbers(saved)
    built["figure"] = figure_numbers(saved)
    built["problems"] = {"batch": saved.settings["batch"], "sd_range": [SD_SIGMA_MIN, SD_SIGMA_MAX],
                         "reference_check_factor": REFERENCE_CHECK_FACTOR,
                         "problems": {name: {key: facts[key] for key in ("held_out", "description", "data_std",
                                                                         "reference_error", "score_label",
                                                                         "exact_ode_score")}
                                      for name, facts in saved.problems.items()}}
    built["schedules"] = schedule_numbers(saved)
    built["nfe"] = nfe_numbers(saved)
    built["details"] = detail_numbers(saved)
    return built


def summary_numbers(saved: Saved, metric: str, variant: str, group: str) -> dict[str, Any]:
    cells = saved.cells()
    return {"metric": metric, "variant": variant, "group": group, "problems": saved.group_problems(group, metric),
            "batch": saved.settings["batch"], "interval_level": INTERVAL_LEVEL,
            "cells": [cell_name(s, n) for s, n in cells],
            "rows": {schedule: {cell_name(s, n): saved.ratio(metric, variant, group, schedule, s, n) for s, n in cells}
                     for schedule in saved.shown},
            "same_as": saved.same_as,
            "largest_difference_of_same": largest_difference_of_same(saved, metric, variant, group)}


def largest_difference_of_same(saved: Saved, metric: str, variant: str, group: str) -> float | None:
    """The largest relative difference between the ratios of two schedules shown as one."""
    differences = []
    for name, kept in saved.same_as.items():
        for s, n in saved.cells():
            a = saved.ratio(metric, variant, group, name, s, n)
            b = saved.ratio(metric, variant, group, kept, s, n)
            if a and b:
                differences.append(abs(a[0] / b[0] - 1))
    return max(differences) if differences else None


def by_steps_numbers(saved: Saved, schedule: str, group: str) -> dict[str, Any]:
    variant = saved.headline
    return {"schedule": schedule, "variant": variant, "group": group, "steps": list(saved.steps),
            "interval_level": INTERVAL_LEVEL,
            "problems": {metric: saved.group_problems(group, metric) for metric in (ODE_ERROR, FINE_DETAIL)},
            ODE_ERROR: {s: {str(n): saved.ratio(ODE_ERROR, variant, group, schedule, s, n) for n in saved.steps}
                        for s in saved.samplers if s in DETERMINISTIC},
            FINE_DETAIL: {s: {str(n): saved.ratio(FINE_DETAIL, variant, group, schedule, s, n) for n in saved.steps}
                          for s in saved.samplers}}


def exact_numbers(saved: Saved) -> dict[str, Any]:
    """The summary with the exact denoiser, and how far each ratio moves from the headline variant."""
    change = {}
    for schedule in saved.shown:
        if schedule == BASELINE:
            continue
        change[schedule] = {}
        for metric in (ODE_ERROR, FINE_DETAIL):
            factors = []
            for group in GROUPS:
                for s, n in saved.cells():
                    exact = saved.ratio(metric, "exact", group, schedule, s, n)
                    headline = saved.ratio(metric, saved.headline, group, schedule, s, n)
                    if exact and headline:
                        factors.append(exact[0] / headline[0])
            change[schedule][metric] = list(span(factors)) if factors else None
    return {"headline": saved.headline, "sd_range": [SD_SIGMA_MIN, SD_SIGMA_MAX],
            ODE_ERROR: {group: summary_numbers(saved, ODE_ERROR, "exact", group) for group in GROUPS},
            FINE_DETAIL: {group: summary_numbers(saved, FINE_DETAIL, "exact", group) for group in GROUPS},
            "change": change}


def verdict_numbers(saved: Saved) -> dict[str, Any]:
    """The three lines' figures: the defaults against Karras, the presets that help, and the rest."""
    variant, cells = saved.headline, saved.cells()

    def span_of(schedule: str, metric: str) -> list[float] | None:
        values = [r[0] for group in GROUPS for s, n in cells
                  if (r := saved.ratio(metric, variant, group, schedule, s, n))]
        return list(span(values)) if values else None

    helps = []
    for schedule in saved.presets():
        helped = {}
        for sampler in SUMMARY_SAMPLERS:
            held_out = {cell_name(sampler, n): saved.ratio(ODE_ERROR, variant, "held-out", schedule, sampler, n)
                        for n in SUMMARY_STEPS if n in saved.steps}
            if held_out and all(r and r[0] < 1 for r in held_out.values()) and any(
                    r[2] is not None and r[2] < 1 for r in held_out.values()):
                helped[sampler] = {ODE_ERROR: held_out, FINE_DETAIL: {
                    cell: saved.ratio(FINE_DETAIL, variant, "held-out", schedule, *_split(cell)) for cell in held_out}}
        if helped:
            helps.append({"schedule": schedule, "samplers": helped,
                          "elsewhere": worst_elsewhere(saved, schedule, set(helped))})
    helping = {entry["schedule"] for entry in helps}
    others = []
    for schedule in saved.shown:
        if schedule in (BASELINE, KES_DEFAULTS) or schedule in helping:
            continue
        worst = worst_cell(saved, schedule, cells, clearly=True)
        if worst:
            others.append({"schedule": schedule, **worst, "best": best_cell(saved, schedule, cells)})
    return {"variant": variant, "cells": [cell_name(s, n) for s, n in cells], "interval_level": INTERVAL_LEVEL,
            "defaults": {ODE_ERROR: span_of(KES_DEFAULTS, ODE_ERROR), FINE_DETAIL: span_of(KES_DEFAULTS, FINE_DETAIL)},
            "helps": helps, "others": others}


def _split(cell: str) -> tuple[str, int]:
    sampler, steps = cell.split("@")
    return sampler, int(steps)


def worst_cell(saved: Saved, schedule: str, cells: Sequence[tuple[str, int]],
               groups: Sequence[str] = GROUPS, clearly: bool = False) -> dict[str, Any] | None:
    """The cell, group and metric where ``schedule`` is furthest above Karras (None if nowhere); with
    ``clearly``, only cells whose whole interval is above 1."""
    def counts(r) -> bool:
        return r[0] > 1 and (not clearly or (r[1] is not None and r[1] > 1))

    return _extreme_cell(saved, schedule, cells, groups, counts, lambda ratio, other: ratio > other)


def best_cell(saved: Saved, schedule: str, cells: Sequence[tuple[str, int]],
              groups: Sequence[str] = GROUPS) -> dict[str, Any] | None:
    """Where ``schedule`` is furthest below Karras with its whole interval below 1 (None if nowhere)."""
    return _extreme_cell(saved, schedule, cells, groups, lambda r: r[2] is not None and r[2] < 1,
                         lambda ratio, other: ratio < other)


def _extreme_cell(saved: Saved, schedule: str, cells: Sequence[tuple[str, int]], groups: Sequence[str],
                  counts: Any, beats: Any) -> dict[str, Any] | None:
    found = None
    for metric in (ODE_ERROR, FINE_DETAIL):
        for group in groups:
            for s, n in cells:
                r = saved.ratio(metric, saved.headline, group, schedule, s, n)
                if r and counts(r) and (found is None or beats(r[0], found["ratio"])):
                    found = {"ratio": r[0], "metric": metric, "group": group, "cell": cell_name(s, n)}
    return found


def worst_elsewhere(saved: Saved, schedule: str, helped: set[str]) -> dict[str, Any] | None:
    """Where a preset that helps some samplers is worst with the others (held-out, any step count)."""
    cells = [(s, n) for s in saved.samplers if s not in helped for n in saved.steps]
    return worst_cell(saved, schedule, cells, groups=("held-out",))


def speed_numbers(saved: Saved) -> dict[str, Any]:
    timing = saved.results["time_ratio_to_karras"]
    kes_names = [name for name in saved.shown if is_kes(name)]
    # Per KES schedule the median over the step counts (a load burst can hit one step count's batches),
    # then the range over the KES schedules.
    kes_medians = {name: statistics.median(timing[name][str(n)] for n in saved.steps) for name in kes_names}
    return {"steps": list(saved.steps), "kes": kes_names, "kes_medians": kes_medians,
            "kes_span": list(span(kes_medians.values())) if kes_medians else None,
            "rows": {name: {str(n): timing[name][str(n)] for n in saved.steps} for name in saved.shown}}


def figure_numbers(saved: Saved) -> dict[str, Any]:
    """The figure's curves: the headline ODE-error ratio by step count, per group and summary sampler."""
    variant = saved.headline
    groups = {}
    for group in GROUPS:
        samplers = {}
        for sampler in (s for s in SUMMARY_SAMPLERS if s in saved.samplers):
            nfe = [saved.rows[(variant, saved.group_problems(group)[0], BASELINE, sampler, n)]["nfe"]
                   for n in saved.steps] if saved.group_problems(group) else []
            samplers[sampler] = {"steps": list(saved.steps), "nfe": nfe,
                                 "curves": {name: [_point(saved.ratio(ODE_ERROR, variant, group, name, sampler, n))
                                                   for n in saved.steps] for name in saved.shown}}
        groups[group] = {"problems": saved.group_problems(group), "samplers": samplers}
    return {"variant": variant, "table_steps": [n for n in SUMMARY_STEPS if n in saved.steps],
            "same_as": saved.same_as, "groups": groups}


def _point(cell: list | None) -> float | None:
    return cell[0] if cell else None


def schedule_numbers(saved: Saved) -> dict[str, Any]:
    schedules = saved.results["schedules"]
    return {name: {"first": schedules[name][str(saved.steps[0])][0],
                   "last": {str(n): schedules[name][str(n)][-2] for n in saved.steps}}
            for name in saved.schedule_names}


def nfe_numbers(saved: Saved) -> dict[str, dict[str, list[int]]]:
    counts: dict[str, dict[str, set[int]]] = {s: {str(n): set() for n in saved.steps} for s in saved.samplers}
    for row in saved.results["results"]:
        counts[row["sampler"]][str(row["steps"])].add(row["nfe"])
    return {s: {n: sorted(values) for n, values in by_n.items()} for s, by_n in counts.items()}


def detail_numbers(saved: Saved) -> dict[str, Any]:
    """Absolute scores by schedule and step count: ODE error (geometric mean over problems), fine detail
    (geometric mean over data sets) and the LL gap (mean over mixtures)."""
    def aggregate(variant, problems, schedule, sampler, n, field, combine):
        values = [row[field] for p in problems
                  if (row := saved.rows.get((variant, p, schedule, sampler, n))) and row[field] is not None]
        return combine(values) if values else None

    details = {}
    for variant in saved.variants:
        for group in GROUPS:
            problems = saved.group_problems(group)
            data_sets = saved.group_problems(group, FINE_DETAIL)
            mixtures = [p for p in problems if p not in data_sets]
            tables = {}
            for sampler in saved.samplers:
                for kind, chosen, field, combine in (("ODE error", problems, "ode_error", geometric_mean),
                                                     ("nearest-point distance", data_sets, "score", geometric_mean),
                                                     ("LL gap per dim", mixtures, "score", statistics.fmean)):
                    if kind == "ODE error" and sampler not in DETERMINISTIC or not chosen:
                        continue
                    tables[f"{kind}, {sampler}"] = {
                        name: {str(n): aggregate(variant, chosen, name, sampler, n, field, combine)
                               for n in saved.steps}
                        for name in saved.schedule_names}
            details[f"{variant}, {group}"] = tables
    return details


# --- the report's text -----------------------------------------------------------------------------

def render(results: Mapping[str, Any], built: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(section name, markdown) for every section, in the order of the .md."""
    sections = [("verdict", verdict_text(built["verdict"]))]
    for group in GROUPS:
        sections.append((f"ode-error-{group}", summary_text(built[f"ode-error-{group}"])))
    sections.append(("fine-detail", "\n\n".join(summary_text(built["fine-detail"][group]) for group in GROUPS)))
    for name, numbers in built.items():
        if name.endswith("-by-steps") or name.endswith("-by-steps-search"):
            sections.append((name, by_steps_text(numbers)))
    if "exact-denoiser" in built:
        sections.append(("exact-denoiser", exact_text(built["exact-denoiser"])))
    sections.append(("speed", speed_text(built["speed"])))
    sections.append(("figure", figure_text(built["figure"])))
    sections.append(("problems", problems_text(built["problems"])))
    sections.append(("schedules", schedules_text(built["schedules"])))
    sections.append(("nfe", nfe_text(built["nfe"])))
    sections.append(("details", details_text(built["details"])))
    return sections


def _names(names: Sequence[str]) -> str:
    return report.join_words(list(names))


def _schedule_label(name: str, same_as: Mapping[str, str]) -> str:
    twins = [other for other, kept in same_as.items() if kept == name]
    return " = ".join([name, *twins])


def summary_text(numbers: Mapping[str, Any]) -> str:
    metric, group, problems = numbers["metric"], numbers["group"], numbers["problems"]
    if not problems:
        return f"No {group} {'data sets' if metric == FINE_DETAIL else 'problems'} in this run."
    what = ("ODE error (RMS distance to the exact probability-flow ODE solution from the same start)"
            if metric == ODE_ERROR else "Fine detail (RMS distance of the samples to the nearest data point)")
    kind = "data sets" if metric == FINE_DETAIL else "problems"
    use = "used to choose the presets" if group == "search" else "never run by the preset search"
    lines = [f"{what} relative to Karras rho 7 (below 1 is better): geometric mean over the "
             f"{report.count(len(problems), group + ' ' + kind[:-1])} ({use}: {_names(problems)}), "
             f"{numbers['variant']} denoiser, "
             f"{numbers['batch']} starts each; paired-bootstrap {report.percent(numbers['interval_level'])} interval "
             "over the starts in brackets."]
    for name, kept in numbers["same_as"].items():
        difference = numbers["largest_difference_of_same"]
        lines.append(f"{name} gives the same sigmas as {kept} up to float rounding and is shown in its row "
                     f"(their ratios differ by at most {difference or 0:.0e}, relative).")
    table = report.table(["schedule", *numbers["cells"]],
                         [[_schedule_label(name, numbers["same_as"])]
                          + [report.ratio_interval(cells[c]) for c in numbers["cells"]]
                          for name, cells in numbers["rows"].items()])
    return " ".join(lines) + "\n\n" + table


def by_steps_text(numbers: Mapping[str, Any]) -> str:
    schedule, group, steps = numbers["schedule"], numbers["group"], numbers["steps"]
    header = ["sampler", *[str(n) for n in steps]]
    parts = [f"{schedule} at every step count, {group} problems, {numbers['variant']} denoiser, relative to "
             f"Karras rho 7 (below 1 is better; paired-bootstrap {report.percent(numbers['interval_level'])} interval "
             "in brackets)."]
    for metric, what in ((ODE_ERROR, "ODE error, deterministic samplers, geometric mean over the "
                                     + report.count(len(numbers['problems'][ODE_ERROR]), f"{group} problem")),
                         (FINE_DETAIL, "Fine detail, all samplers, geometric mean over the "
                                       + report.count(len(numbers['problems'][FINE_DETAIL]), f"{group} data set"))):
        if numbers[metric] and numbers["problems"][metric]:
            parts.append(f"{what}:\n\n" + report.table(
                header, [[sampler] + [report.ratio_interval(by_n[str(n)]) for n in steps]
                         for sampler, by_n in numbers[metric].items()]))
    return "\n\n".join(parts)


def exact_text(numbers: Mapping[str, Any]) -> str:
    low, high = numbers["sd_range"]
    parts = [f"With the exact denoiser (the model knows every sigma, also outside SD's {low:g} to {high:g}):"]
    for metric in (ODE_ERROR, FINE_DETAIL):
        for group in GROUPS:
            parts.append(summary_text(numbers[metric][group]))
    rows = []
    for schedule, change in numbers["change"].items():
        rows.append([schedule] + [f"{report.ratio(c[0])} to {report.ratio(c[1])}" if c else ""
                                  for c in (change[ODE_ERROR], change[FINE_DETAIL])])
    parts.append(f"Each ratio with the exact denoiser divided by the same ratio with the {numbers['headline']} "
                 "one (range over the cells and both groups; 1 means the model's range made no difference):\n\n"
                 + report.table(["schedule", "ODE error", "fine detail"], rows))
    return "\n\n".join(parts)


def worse_by(ratio: float) -> str:
    """How much worse a ratio above 1 is: '14% worse', or '2.5 times' from ``MULTIPLE_FROM`` on."""
    return f"{report.factor(ratio)} times Karras's" if ratio >= MULTIPLE_FROM else report.relative(ratio)


def verdict_text(numbers: Mapping[str, Any]) -> str:
    variant, cells = numbers["variant"], numbers["cells"]
    samplers = list(dict.fromkeys(cell.split("@")[0] for cell in cells))
    steps = list(dict.fromkeys(cell.split("@")[1] for cell in cells))
    where = f"at {_names(steps)} steps with {_names(samplers)}"
    lines = [defaults_line(numbers["defaults"], where, variant)]
    for entry in numbers["helps"]:
        lines.append(helps_line(entry, variant, numbers["interval_level"]))
    if not numbers["helps"]:
        lines.append(f"No preset is below Karras rho 7 {where} on the held-out problems ({variant} denoiser).")
    lines.append(keep_karras_line(numbers["others"], where, numbers["helps"]))
    return "\n".join(f"- {line}" for line in lines)


def defaults_line(defaults: Mapping[str, Any], where: str, variant: str) -> str:
    ode, detail = defaults[ODE_ERROR], defaults[FINE_DETAIL]
    if ode is None:
        return "The KES defaults did not run."
    loses = ode is not None and ode[0] > 1 and (detail is None or detail[0] > 1)
    text = (f"**The KES defaults** (`{DEFAULTS_PRESET}`, the original release's schedule) "
            f"{'lose to' if loses else 'against'} Karras rho 7: {report.relative_span(*ode)} ODE error {where}")
    if detail is not None:
        detail_text = (f"{report.factor_span(*detail)} Karras's distance to the nearest data point"
                       if detail[0] >= MULTIPLE_FROM else f"{report.relative_span(*detail)} fine detail")
        text += f", and {detail_text}"
    return text + f"; search and held-out problems, {variant} denoiser."


def helps_line(entry: Mapping[str, Any], variant: str, level: float) -> str:
    """'`name` helps with euler and dpmpp_2m: ODE error ... (held-out), fine detail ...; elsewhere ...'."""
    samplers = list(entry["samplers"])
    ode_parts, details = [], []
    for sampler, numbers in entry["samplers"].items():
        cells = numbers[ODE_ERROR]
        steps = [cell.split("@")[1] for cell in cells]
        ode_parts.append(f"{report.join_words([report.ratio_interval(cells[c]) for c in cells])} with {sampler} at "
                         f"{_names(steps)} steps")
        details += [numbers[FINE_DETAIL][c][0] for c in cells if numbers[FINE_DETAIL].get(c)]
    text = (f"**`{preset_name(entry['schedule'])}` helps** with {_names(samplers)}: ODE error relative to Karras "
            f"rho 7 on the held-out problems {'; '.join(ode_parts)} ({variant} denoiser, {report.percent(level)} "
            "intervals)")
    if details:
        low, high = span(details)
        text += f", fine detail {report.ratio(low)}" + ("" if report.ratio(low) == report.ratio(high)
                                                       else f" to {report.ratio(high)}")
    elsewhere = entry["elsewhere"]
    if elsewhere:
        text += (f". With the other samplers it is up to {worse_by(elsewhere['ratio'])} "
                 f"({METRIC_WORDS[elsewhere['metric']]}, {elsewhere['cell']}, held-out)")
    return text + "."


def keep_karras_line(others: Sequence[Mapping[str, Any]], where: str, helps: Sequence[Mapping[str, Any]]) -> str:
    if not others:
        return "**Otherwise keep Karras rho 7.**"
    def at(entry: Mapping[str, Any]) -> str:
        return f"({METRIC_WORDS[entry['metric']]}, {entry['cell']}, {entry['group']})"

    listed = []
    for entry in others:
        text = f"{entry['schedule']} {worse_by(entry['ratio'])} {at(entry)}"
        best = entry.get("best")
        if best:
            text = f"{entry['schedule']} {report.relative(best['ratio'])} {at(best)} but {worse_by(entry['ratio'])} {at(entry)}"
        listed.append(text)
    return (f"**Otherwise keep Karras rho 7**: each other schedule is clearly worse than it somewhere {where} "
            f"(the whole interval above 1), at best and worst: {'; '.join(listed)}.")


def speed_text(numbers: Mapping[str, Any]) -> str:
    steps = numbers["steps"]
    if numbers["kes_span"] is None:
        return "No KES schedule in this run."
    low, high = numbers["kes_span"]
    text = (f"Computing a KES schedule ({_names(numbers['kes'])}, each computed anew, not from the cache) costs "
            f"{report.factor_span(low, high)} Karras rho 7 (per schedule the median over {steps[0]} to "
            f"{steps[-1]} steps of the median of interleaved batches; this run). Microseconds either way, against "
            "a model call of milliseconds to "
            "seconds; no schedule changes the number of model calls.")
    table = report.table(["schedule", *[f"{n} steps" for n in steps]],
                         [[name] + [report.ratio(by_n[str(n)]) for n in steps]
                          for name, by_n in numbers["rows"].items()], align_right_from=1)
    return f"{text}\n\nCompute time relative to Karras rho 7:\n\n{table}"


def figure_text(numbers: Mapping[str, Any]) -> str:
    groups = numbers["groups"]
    counts = report.join_words([f"{len(groups[g]['problems'])} {g}" for g in GROUPS])
    counts += " problem" if sum(len(groups[g]["problems"]) for g in GROUPS) == 1 else " problems"
    same = report.join_words([f"{name} (the same sigmas as {kept})" for name, kept in numbers["same_as"].items()])
    text = (f"The figure ({NAME}.png, drawn beside this file from the same JSON) shows the ODE error relative to "
            f"Karras rho 7 against the NFE at every step count of the run: the geometric mean over the {counts}, "
            f"one row of panels per group, {numbers['variant']} denoiser; the same statistic as the ODE-error "
            f"tables, whose cells are its points at {_names([str(n) for n in numbers['table_steps']])} steps.")
    if same:
        text += f" {same} is drawn once, in the {report.join_words(list(numbers['same_as'].values()))} line."
    return text


def problems_text(numbers: Mapping[str, Any]) -> str:
    header = ["problem", "split", "what", "data std", "reference ODE error", "score", "exact solutions vs population"]
    rows = [[name, group_name(facts["held_out"]), facts["description"], f"{facts['data_std']:.2f}",
             f"{facts['reference_error']:.1e}", facts["score_label"], f"{facts['exact_ode_score']:.2g}"]
            for name, facts in numbers["problems"].items()]
    low, high = numbers["sd_range"]
    return (f"The problems: {numbers['batch']} seeded starts each, double precision, SD 1.x range {low:g} to "
            f"{high:g}. The "
            "reference ODE error is how much the exact solution moves when its tolerances shrink "
            f"{numbers['reference_check_factor']}-fold.\n\n" + report.table(header, rows))


def schedules_text(numbers: Mapping[str, Any]) -> str:
    steps = list(next(iter(numbers.values()))["last"])
    rows = [[name, f"{v['first']:.4g}"] + [f"{v['last'][n]:.3g}" for n in steps] for name, v in numbers.items()]
    return ("The schedules' first sigma and last sigma before 0:\n\n"
            + report.table(["schedule", "sigma_0", *[f"last@{n}" for n in steps]], rows, align_right_from=1))


def nfe_text(numbers: Mapping[str, Any]) -> str:
    steps = list(next(iter(numbers.values())))
    rows = [[sampler] + ["/".join(str(c) for c in by_n[n]) for n in steps] for sampler, by_n in numbers.items()]
    return ("Model calls (NFE) counted per sampler and step count; one number means the same for every "
            "schedule:\n\n" + report.table(["sampler", *steps], rows, align_right_from=1))


def details_text(numbers: Mapping[str, Any]) -> str:
    parts = ["Absolute scores (ODE error and nearest-point distance: geometric mean over the problems; LL gap: "
             "mean over the mixtures, 0 is as good as the exact solver):"]
    for where, tables in numbers.items():
        for title, by_schedule in tables.items():
            steps = list(next(iter(by_schedule.values())))
            rows = [[name] + [f"{v:.3g}" if v is not None else "" for v in by_n.values()]
                    for name, by_n in by_schedule.items()]
            parts.append(f"{title}, {where}:\n\n" + report.table(["schedule", *steps], rows, align_right_from=1))
    return "\n\n".join(parts)


# --- files and command line ------------------------------------------------------------------------

def write(results: dict[str, Any], folder: Path, plot: Path | None, extra_json: Path | None = None) -> Path:
    """Report, JSON, .md and figure from ``results`` (which gets its ``report`` entry); returns the .md."""
    json_path, md_path = folder / f"{NAME}.json", folder / f"{NAME}.md"
    report.write_data_and_report(results, json_path, build_report, extra_json)
    header = report.header_line(results["written_by"], results.get("report_regenerated"))
    report.write_markdown(md_path, header, render(results, results["report"]))
    figure.draw(results["report"]["figure"], plot or folder / f"{NAME}.png")
    return md_path


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python benchmarks/quality.py",
                                     description="Schedule quality: k-diffusion's samplers on problems with exact "
                                                 "denoisers, every schedule against Karras rho 7.")
    parser.add_argument("--quick", action="store_true", help="four problems, three step counts, 128 starts")
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--variants", help=f"comma-separated denoiser variants of {', '.join(DENOISER_VARIANTS)}")
    parser.add_argument("--samplers", help=f"comma-separated samplers of {', '.join(SAMPLERS)}")
    parser.add_argument("--workers", type=int, default=2, help="problems run in parallel (default 2)")
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where quality.md, quality.json and quality.png go (default benchmarks/results; "
                             "benchmarks/out for --quick, --problems or --samplers)")
    parser.add_argument("--plot", metavar="PATH", type=Path, help="draw the figure here instead (PNG)")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the results JSON to PATH")
    parser.add_argument("--report-only", "--replot", dest="report_only", metavar="JSON", type=Path,
                        help="only write the .md and the figure again from a saved quality.json (beside it, or "
                             "in --results DIR), without sampling")
    return parser.parse_args(argv)


def settings_from(arguments: argparse.Namespace) -> Settings:
    settings = QUICK if arguments.quick else FULL

    def split(text: str, allowed: Sequence[str], flag: str) -> tuple[str, ...]:
        chosen = tuple(part.strip() for part in text.split(",") if part.strip())
        unknown = [part for part in chosen if part not in allowed]
        if unknown or not chosen:
            raise SystemExit(f"{flag}: unknown {', '.join(unknown) or 'empty list'}; allowed: {', '.join(allowed)}")
        return chosen
    if arguments.problems is not None:
        settings = dataclasses.replace(settings, problem_names=split(arguments.problems,
                                                                     [p.name for p in all_problems()], "--problems"))
    if arguments.variants is not None:
        settings = dataclasses.replace(settings, variants=split(arguments.variants, list(DENOISER_VARIANTS),
                                                                "--variants"))
    if arguments.samplers is not None:
        settings = dataclasses.replace(settings, samplers=split(arguments.samplers, list(SAMPLERS), "--samplers"))
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.report_only:
        results = report.saved_run(arguments.report_only, NAME, "quality.py", argv)
        md_path = write(results, arguments.results or arguments.report_only.parent, arguments.plot)
        report.log(f"wrote {md_path}")
        return 0
    settings = settings_from(arguments)
    partial = arguments.quick or arguments.problems is not None or arguments.samplers is not None
    folder = report.results_folder(arguments.results, partial)
    started = time.perf_counter()
    record = report.run_record(argv, "quality.py")
    results = run(settings, arguments.workers)
    record["run_seconds"] = time.perf_counter() - started
    results = {"written_by": record, **results}
    md_path = write(results, folder, arguments.plot, arguments.json)
    print(md_path.read_text(encoding="utf-8"))
    report.log(f"wrote {md_path}, {md_path.with_suffix('.json')} and the figure")
    return 0
