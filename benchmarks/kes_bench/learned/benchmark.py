"""The learned benchmark: every compared schedule on the digit models, against Karras rho 7.

``run`` samples each model (``digits-a``, on which presets are searched, and ``digits-b``, the held-out
one) at each CFG scale with every schedule, sampler and step count, from one seeded batch of noise per
model and scale (each digit equally often), and measures FID, class accuracy, contrast, pixel
histogram and ODE error (``evaluation.py``, ``metrics.py``); it computes the paired-bootstrap intervals
of the ratios to Karras (which need the per-sample values, so they are computed here and saved) and the
floors that say whether the model is good enough for its numbers to mean something. ``build_report``
turns the saved results into every section's numbers and ``render`` into the .md; both read only the
saved JSON, so ``--report-only`` regenerates them without sampling.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from .. import report
from ..quality import coinciding_schedules
from ..schedules import BASELINE, BETA, beta, compared_schedules, get_sigmas_karras, is_kes, kes, shape_of
from ..statistics import INTERVAL_LEVEL, PairedBootstrap, geometric_mean
from . import figure, metrics
from .evaluation import ModelEvaluator
from .models import load, manifest
from .network import DigitClassifier
from .training import HELD_OUT_MODEL, SEARCH_MODEL

NAME = "learned"
SAMPLERS = ("euler", "heun", "dpmpp_2m", "euler_ancestral", "dpmpp_2m_sde")
STEP_COUNTS = (5, 10, 20, 30)
GUIDED_SCALE = 2.0
SUMMARY_SAMPLERS = ("euler", "dpmpp_2m")
SUMMARY_STEPS = (10, 20)
NOISE_SEED = 20261202
# The floors of the issue: the judge must be good, and the model good enough at 50 Karras steps.
FLOOR_STEPS, FLOOR_SAMPLER = 50, "euler"
CLASSIFIER_FLOOR, SAMPLE_ACCURACY_FLOOR = 0.97, 0.90
# The aim for a preset: this much better than Karras on FID and ODE error in every summary cell.
AIM_RATIO = 0.9
FID, ODE_ERROR = "fid", "ode_error"
METRIC_WORDS = {FID: "FID", ODE_ERROR: "ODE error"}
# The search's pick (search_learned.py), named as a KES schedule so that the aim and the losses cover it.
SEARCH_RESULTS = report.RESULTS / "learned_search.json"
SEARCH_PICK = f"KES {SEARCH_MODEL} pick"
# A cell without an interval counts as a loss when its ratio is above this.
LOSS_MARGIN = 1.05


@dataclasses.dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    steps: tuple[int, ...]
    samplers: tuple[str, ...]
    scales: tuple[float, ...]
    batch: int
    reference_steps: int
    fid_resamples: int


FULL = Settings((SEARCH_MODEL, HELD_OUT_MODEL), STEP_COUNTS, SAMPLERS, (1.0, GUIDED_SCALE), 400, 200, 200)
# At most 10 minutes on 2 cores: the held-out model, the summary cells, the guided scale.
QUICK = Settings((HELD_OUT_MODEL,), SUMMARY_STEPS, SUMMARY_SAMPLERS, (GUIDED_SCALE,), 200, 100, 100)


def cell_name(sampler: str, steps: int) -> str:
    return f"{sampler}@{steps}"


def scale_name(scale: float) -> str:
    return f"cfg {scale:g}"


def learned_schedules() -> dict[str, Callable[[int], torch.Tensor]]:
    """The quality benchmark's schedules, the WebUI's Beta schedule, and the KES shape the search found on
    the search model (``search_learned.py``), if it has run: judged here on the held-out model."""
    chosen = {**compared_schedules(), BETA: beta}
    if SEARCH_RESULTS.exists():
        values = report.read_json(SEARCH_RESULTS)["pick"]["rounded"]
        chosen[SEARCH_PICK] = kes(**shape_of(values))
    return chosen


# --- the run ---------------------------------------------------------------------------------------

def run_task(model_name: str, scale: float, settings: Settings, sampled: Mapping[str, Mapping[int, torch.Tensor]],
             threads: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Every (schedule, sampler, steps) row of one model at one scale, their intervals and the model's facts."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    model = load(model_name)
    evaluator = ModelEvaluator(model, scale, settings.batch, NOISE_SEED, settings.reference_steps)
    rows, measured = [], {}
    for schedule, by_steps in sampled.items():
        for steps, sigmas in by_steps.items():
            for sampler in settings.samplers:
                row = evaluator.measure(sampler, sigmas)
                measured[(schedule, sampler, steps)] = row
                rows.append({"model": model_name, "scale": scale, "schedule": schedule, "sampler": sampler,
                             "steps": steps, **row.summary()})
        log(f"  {model_name} {scale_name(scale)} {schedule}: {time.perf_counter() - started:.0f} s")
    floor = evaluator.measure(FLOOR_SAMPLER, get_sigmas_karras(FLOOR_STEPS, *sigma_ends(sampled)), False)
    facts = {
        "floor": {"sampler": FLOOR_SAMPLER, "steps": FLOOR_STEPS, "accuracy": floor.accuracy, "fid": floor.fid},
        "reference_errors": {f"{start:.6g}": error for start, error in evaluator.reference_errors.items()},
        "seconds": time.perf_counter() - started,
    }
    return {"rows": rows, "intervals": intervals(measured, evaluator, settings), "facts": facts}


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def sigma_ends(sampled: Mapping[str, Mapping[int, torch.Tensor]]) -> tuple[float, float]:
    """Karras's sigma_min and sigma_max (the model's range)."""
    karras_sigmas = next(iter(sampled[BASELINE].values()))
    return float(karras_sigmas[-2]), float(karras_sigmas[0])


def intervals(measured: Mapping[tuple[str, str, int], Any], evaluator: ModelEvaluator,
              settings: Settings) -> dict[str, dict[str, dict[str, list[float]]]]:
    """metric -> schedule -> 'sampler@steps' -> the paired-bootstrap interval of its ratio to Karras.

    ODE error for every deterministic cell; FID (200 resamples of samples and real digits, each costing
    two Fréchet distances) for the summary samplers' cells.
    """
    generator = torch.Generator().manual_seed(NOISE_SEED + 1)
    sample_draws = torch.randint(settings.batch, (settings.fid_resamples, settings.batch), generator=generator)
    real_count = len(evaluator.real_features)
    real_draws = torch.randint(real_count, (settings.fid_resamples, real_count), generator=generator)
    bootstrap = PairedBootstrap(NOISE_SEED)
    found: dict[str, dict[str, dict[str, list[float]]]] = {FID: {}, ODE_ERROR: {}}
    for (schedule, sampler, steps), row in measured.items():
        if schedule == BASELINE:
            continue
        base = measured[(BASELINE, sampler, steps)]
        cell = cell_name(sampler, steps)
        if row.squared_errors is not None:
            pair = (bootstrap.log_rms("batch", row.squared_errors), bootstrap.log_rms("batch", base.squared_errors))
            found[ODE_ERROR].setdefault(schedule, {})[cell] = list(bootstrap.interval([pair]))
        if sampler in SUMMARY_SAMPLERS:
            found[FID].setdefault(schedule, {})[cell] = list(metrics.bootstrap_fid_ratio(
                row.features, base.features, evaluator.real_features, sample_draws, real_draws, INTERVAL_LEVEL))
    return found


def model_facts(name: str) -> dict[str, Any]:
    """What does not depend on the schedules: the judge's accuracy, real-vs-real FIDs, contrast."""
    model = load(name)
    data = model.data
    real = metrics.classifier_features(model.classifier, data.held_images)
    train_subset = data.train_images[torch.randperm(len(data.train_images),
                                                    generator=torch.Generator().manual_seed(NOISE_SEED))]
    entry = manifest()[name]
    return {
        "classifier_accuracy": metrics.class_accuracy(model.classifier, data.held_images, data.held_labels),
        "held_out_digits": len(data.held_images), "training_digits": len(data.train_images),
        "real_vs_real_fid": metrics.real_vs_real_fid(real, NOISE_SEED),
        "training_vs_held_out_fid": metrics.frechet_distance(
            metrics.classifier_features(model.classifier, train_subset[:FULL.batch]), real),
        "real_contrast": metrics.mean_contrast(data.held_images),
        "real_histogram": metrics.pixel_histogram(data.held_images),
        "recipe": entry["recipe"], "checksums": entry["checksums"], "training_seconds": entry["training_seconds"],
    }


def run(settings: Settings, workers: int, log: Callable[[str], None] = report.log) -> dict[str, Any]:
    functions = learned_schedules()
    table = {name: {n: function(n) for n in settings.steps} for name, function in functions.items()}
    same_as = coinciding_schedules({name: {str(n): s.tolist() for n, s in by_n.items()} for name, by_n in table.items()})
    sampled = {name: by_n for name, by_n in table.items() if name not in same_as}
    # The guided tasks cost twice the unguided ones: they go first, so two workers end together.
    parallel = min(workers, len(settings.models) * len(settings.scales))
    # One thread per task when tasks run side by side; a lone task (--quick) gets the cores to itself.
    threads = max(1, usable_cpus() // parallel)
    tasks = [(model, scale, settings, sampled, threads, log)
             for scale in sorted(settings.scales, reverse=True) for model in settings.models]
    log(f"{len(tasks)} tasks (model x scale), {len(sampled)} schedules, {parallel} at a time, {threads} threads each")
    if parallel > 1:
        with multiprocessing.get_context("fork").Pool(parallel) as pool:
            outcomes = pool.starmap(run_task, tasks, chunksize=1)
    else:
        outcomes = [run_task(*task) for task in tasks]
    results: dict[str, Any] = {
        "benchmark": NAME, "settings": dataclasses.asdict(settings),
        "models": {name: model_facts(name) for name in settings.models},
        "schedules": {name: {str(n): s.tolist() for n, s in by_n.items()} for name, by_n in table.items()},
        "same_as": same_as, "tasks": {}, "intervals": {}, "results": [],
    }
    for (model, scale, *_), outcome in zip(tasks, outcomes):
        key = f"{model} {scale_name(scale)}"
        results["tasks"][key] = outcome["facts"]
        results["intervals"][key] = outcome["intervals"]
        results["results"] += outcome["rows"]
    return results


# --- reading saved results -------------------------------------------------------------------------

class Saved:
    """An index over a saved run: rows and ratios to Karras by model, scale, schedule and cell."""

    def __init__(self, results: Mapping[str, Any]):
        self.results = results
        self.settings = results["settings"]
        self.rows = {(r["model"], r["scale"], r["schedule"], r["sampler"], r["steps"]): r for r in results["results"]}
        self.same_as = results["same_as"]
        self.shown = [name for name in results["schedules"] if name not in self.same_as]

    def row(self, model: str, scale: float, schedule: str, sampler: str, steps: int) -> Mapping[str, Any] | None:
        return self.rows.get((model, scale, self.same_as.get(schedule, schedule), sampler, steps))

    def ratio(self, metric: str, model: str, scale: float, schedule: str, sampler: str, steps: int) -> list | None:
        """[ratio, low, high] to Karras (low and high None without an interval), or None."""
        row, base = self.row(model, scale, schedule, sampler, steps), self.row(model, scale, BASELINE, sampler, steps)
        if row is None or base is None or row[metric] is None:
            return None
        value = row[metric] / base[metric] if base[metric] else float("nan")
        interval = (self.results["intervals"][f"{model} {scale_name(scale)}"][metric]
                    .get(self.same_as.get(schedule, schedule), {}).get(cell_name(sampler, steps)))
        return [value, *(interval or (None, None))]

    def accuracy_change(self, model: str, scale: float, schedule: str, sampler: str, steps: int) -> float | None:
        """Class accuracy minus Karras's, in percentage points (two decimals)."""
        row, base = self.row(model, scale, schedule, sampler, steps), self.row(model, scale, BASELINE, sampler, steps)
        return None if row is None or base is None else round((row["accuracy"] - base["accuracy"]) * 100, 2)


def guided(saved: Saved) -> float:
    return max(saved.settings["scales"])


def build_report(results: Mapping[str, Any]) -> dict[str, Any]:
    """Every number the sections quote, from the saved results alone: one entry per section (named as the
    section), so every figure of a section can be traced to its entry."""
    saved = Saved(results)
    settings = saved.settings
    scale = guided(saved)
    summary_cells = [(sampler, n) for sampler in SUMMARY_SAMPLERS if sampler in settings["samplers"]
                     for n in SUMMARY_STEPS if n in settings["steps"]]
    keys = {f"{model} {scale_name(s)}": (model, s) for model in results["models"] for s in settings["scales"]}
    summary = {key: {schedule: {cell_name(s, n): {FID: saved.ratio(FID, model, sc, schedule, s, n),
                                                  ODE_ERROR: saved.ratio(ODE_ERROR, model, sc, schedule, s, n),
                                                  "accuracy_change": saved.accuracy_change(model, sc, schedule, s, n)}
                                for s, n in summary_cells}
                     for schedule in saved.shown if schedule != BASELINE}
               for key, (model, sc) in keys.items()}
    models = {model: model_numbers(results, model) for model in results["models"]}
    losses = {key: preset_losses(saved, model, sc) for key, (model, sc) in keys.items()}
    return {
        "verdict": {"scale": scale, "steps": [n for _, n in summary_cells], "aim_ratio": AIM_RATIO,
                    "aim": aim_numbers(summary, models, scale, summary_cells), "level": INTERVAL_LEVEL,
                    "losses": losses},
        "models": {"models": models, "guided_scale": scale, "batch": settings["batch"],
                   "feature_width": DigitClassifier.FEATURES, "floor_steps": FLOOR_STEPS,
                   "classifier_floor": CLASSIFIER_FLOOR, "sample_accuracy_floor": SAMPLE_ACCURACY_FLOOR},
        "summary": {"level": INTERVAL_LEVEL, "tables": summary},
        "look": {key: {schedule: look_numbers(saved, model, sc, schedule) for schedule in saved.shown}
                 for key, (model, sc) in keys.items()},
        "losses": {"level": INTERVAL_LEVEL, "margin": LOSS_MARGIN,
                   "losses": losses},
        "tables": {"same_as": saved.same_as,
                   "tables": {key: {metric: {schedule: {cell_name(s, n): saved.ratio(metric, model, sc, schedule, s, n)
                                                        for s in settings["samplers"] for n in settings["steps"]}
                                             for schedule in saved.shown}
                                    for metric in (FID, ODE_ERROR)}
                              for key, (model, sc) in keys.items()}},
        "nfe": {sampler: {str(n): sorted({r["nfe"] for r in results["results"]
                                          if r["sampler"] == sampler and r["steps"] == n})
                          for n in settings["steps"]} for sampler in settings["samplers"]},
        "figure": figure_numbers(saved),
    }


def model_numbers(results: Mapping[str, Any], model: str) -> dict[str, Any]:
    facts = results["models"][model]
    return {
        **{key: facts[key] for key in ("classifier_accuracy", "held_out_digits", "training_digits",
                                       "real_vs_real_fid", "training_vs_held_out_fid")},
        "seeds": {"split": facts["recipe"]["split_seed"], "training": facts["recipe"]["seed"]},
        "training_minutes": round(facts["training_seconds"]["total"] / 60),
        "tasks": {str(s): results["tasks"][f"{model} {scale_name(s)}"] for s in results["settings"]["scales"]},
    }


def preset_losses(saved: Saved, model: str, scale: float) -> list[dict[str, Any]]:
    """Every cell where a KES schedule is worse than Karras: the whole interval above 1, or (stochastic
    samplers' FID, which has no interval off the summary samplers) a ratio above LOSS_MARGIN."""
    losses = []
    for schedule in saved.shown:
        if not is_kes(schedule):
            continue
        for sampler in saved.settings["samplers"]:
            for steps in saved.settings["steps"]:
                for metric in (FID, ODE_ERROR):
                    cell = saved.ratio(metric, model, scale, schedule, sampler, steps)
                    if cell is None:
                        continue
                    worse = cell[1] > 1 if cell[1] is not None else cell[0] > LOSS_MARGIN
                    if worse:
                        losses.append({"schedule": schedule, "cell": cell_name(sampler, steps), "metric": metric,
                                       "ratio": cell})
    return losses


def look_numbers(saved: Saved, model: str, scale: float, schedule: str) -> dict[str, Any]:
    """Contrast relative to the real digits and the pixel histogram's distance, per summary cell."""
    out = {}
    for sampler in SUMMARY_SAMPLERS:
        for steps in SUMMARY_STEPS:
            row = saved.row(model, scale, schedule, sampler, steps)
            if row is not None:
                out[cell_name(sampler, steps)] = {"contrast": row["contrast_ratio"],
                                                  "histogram": row["histogram_distance"], "accuracy": row["accuracy"]}
    return out


def aim_numbers(summary: Mapping[str, Any], models: Mapping[str, Any], scale: float,
                summary_cells: Sequence[tuple[str, int]]) -> dict[str, Any]:
    """Per KES schedule and model at the guided scale: geometric means over the summary cells, and whether
    it reaches the aim in every cell without lower class accuracy."""
    out: dict[str, Any] = {}
    for model in models:
        for schedule, cells in summary[f"{model} {scale_name(scale)}"].items():
            if not is_kes(schedule):
                continue
            chosen = [cells[cell_name(s, n)] for s, n in summary_cells]
            reached = all(c[metric] is not None and c[metric][0] <= AIM_RATIO for c in chosen for metric in (FID, ODE_ERROR))
            kept = all((c["accuracy_change"] or 0) >= 0 for c in chosen)
            intervals = [c[metric] for c in chosen for metric in (FID, ODE_ERROR) if c[metric] is not None]
            out.setdefault(schedule, {})[model] = {
                "reached": reached and kept,
                "fid": geometric_mean(c[FID][0] for c in chosen),
                "ode_error": geometric_mean(c[ODE_ERROR][0] for c in chosen),
                # Cells whose whole interval is below (above) 1: what the geometric means cannot hide.
                "better": sum(1 for cell in intervals if cell[2] is not None and cell[2] < 1),
                "worse": sum(1 for cell in intervals if cell[1] is not None and cell[1] > 1),
                "cells": len(intervals),
            }
    return out


def figure_numbers(saved: Saved) -> dict[str, Any]:
    model = HELD_OUT_MODEL if HELD_OUT_MODEL in saved.results["models"] else next(iter(saved.results["models"]))
    scale = guided(saved)
    samplers = [s for s in SUMMARY_SAMPLERS if s in saved.settings["samplers"]]
    curves = {metric: {sampler: {schedule: [(saved.ratio(metric, model, scale, schedule, sampler, n) or [None])[0]
                                            for n in saved.settings["steps"]] for schedule in saved.shown}
                       for sampler in samplers} for metric in (FID, ODE_ERROR)}
    labels = {}
    for name, kept in saved.same_as.items():
        labels.setdefault(kept, [kept]).append(name)
    return {"model": model, "scale": scale, "steps": saved.settings["steps"], "curves": curves,
            "labels": {kept: " = ".join(names) for kept, names in labels.items()},
            "summary_steps": list(SUMMARY_STEPS)}


# --- the .md ---------------------------------------------------------------------------------------

def render(numbers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The .md's sections, each written from its own entry of the report."""
    writers = {"verdict": verdict_text, "models": models_text, "summary": summary_text, "look": look_text,
               "losses": losses_text, "tables": tables_text, "nfe": nfe_text}
    return [(name, write_section(numbers[name])) for name, write_section in writers.items()]


def interval_text(cell: Sequence[float | None] | None) -> str:
    return report.ratio_interval(cell) if cell is not None else ""


def verdict_text(numbers: Mapping[str, Any]) -> str:
    scale = numbers["scale"]
    lines = [f"On the learned digit models (class-conditional, SD 1.x's noise schedule behind the WebUI's "
             f"wrapper, {scale_name(scale)}), geometric mean over euler and dpmpp_2m at "
             f"{report.join_words([str(n) for n in sorted(set(numbers['steps']))])} steps of each KES schedule's ratio to "
             "Karras rho 7 (below 1 is better):", ""]
    header = ["schedule"]
    models = list(next(iter(numbers["aim"].values())))
    for model in models:
        role = "search" if model == SEARCH_MODEL else "held-out"
        header += [f"FID, {model} ({role})", f"ODE error, {model} ({role})", f"cells better / worse, {model}"]
    rows = []
    for schedule, by_model in numbers["aim"].items():
        row = [schedule]
        for model in models:
            v = by_model[model]
            row += [report.ratio(v["fid"]), report.ratio(v["ode_error"]), f"{v['better']} / {v['worse']} of {v['cells']}"]
        rows.append(row)
    lines.append(report.table(header, rows, align_right_from=1))
    lines += ["", f"Cells better / worse: of those cells' FID and ODE error ratios, how many have their whole "
              f"{report.percent(numbers['level'])} interval below / above 1. The few samples that end far from "
              "their reference decide an RMS, so an ODE-error ratio far from 1 with a wide interval (the summary "
              "below has them) says more about the batch than about the schedule."]
    reached = [s for s, by_model in numbers["aim"].items() if all(v["reached"] for v in by_model.values())]
    aim = (f"The aim (a preset at least {report.percent(1 - numbers['aim_ratio'])} better than Karras on FID and ODE "
           "error in every one of those cells on both models, without lower class accuracy)")
    lines += ["", f"{aim} is reached by {report.join_words(reached)}." if reached else f"{aim} is reached by no KES "
              "schedule.", "", f"Where each KES schedule is worse than Karras rho 7 (whole {report.percent(numbers['level'])}"
              " interval above 1), by model and scale, sampler and steps:", ""]
    for schedule in numbers["aim"]:
        lines.append(f"- **{schedule}**: " + (loss_summary(numbers["losses"], schedule) or "nowhere") + ".")
    return "\n".join(lines)


def loss_summary(losses: Mapping[str, Sequence[Mapping[str, Any]]], schedule: str) -> str:
    """'digits-a cfg 1: ODE error euler 5, 10, dpmpp_2m 5; FID heun 5; digits-b ...': every losing cell, compact."""
    parts = []
    for key, found in losses.items():
        by_metric: dict[str, dict[str, list[str]]] = {}
        for loss in found:
            if loss["schedule"] == schedule:
                sampler, steps = loss["cell"].split("@")
                by_metric.setdefault(loss["metric"], {}).setdefault(sampler, []).append(steps)
        if by_metric:
            metrics_text = "; ".join(f"{METRIC_WORDS[metric]} " + ", ".join(f"{sampler} {', '.join(steps)}"
                                                                          for sampler, steps in by_sampler.items())
                                     for metric, by_sampler in by_metric.items())
            parts.append(f"{key}: {metrics_text}")
    return "; ".join(parts)


def models_text(numbers: Mapping[str, Any]) -> str:
    header = ["model", "split / training seed", "training digits", "held-out digits", "classifier accuracy",
              "training time"]
    rows = [[model, f"{m['seeds']['split']} / {m['seeds']['training']}", str(m["training_digits"]),
             str(m["held_out_digits"]), f"{m['classifier_accuracy']:.3f}", f"{m['training_minutes']} min"]
            for model, m in numbers["models"].items()]
    floor_steps = numbers["floor_steps"]
    floors = ["model", "scale", f"class accuracy, Karras {floor_steps} steps {FLOOR_SAMPLER}",
              f"FID, Karras {floor_steps} steps", "FID real vs real (halves)", "FID training vs held-out digits",
              "reference ODE error"]
    floor_rows = []
    for model, m in numbers["models"].items():
        for scale, task in m["tasks"].items():
            floor_rows.append([model, scale_name(float(scale)), f"{task['floor']['accuracy']:.3f}",
                               f"{task['floor']['fid']:.3g}", f"{m['real_vs_real_fid']:.3g}",
                               f"{m['training_vs_held_out_fid']:.3g}",
                               ", ".join(f"{e:.1e}" for e in task["reference_errors"].values())])
    classifier_ok = all(m["classifier_accuracy"] >= numbers["classifier_floor"] for m in numbers["models"].values())
    guided_key = str(numbers["guided_scale"])
    samples_ok = all(m["tasks"][guided_key]["floor"]["accuracy"] >= numbers["sample_accuracy_floor"]
                     for m in numbers["models"].values() if guided_key in m["tasks"])
    verdict = (f"Floors: classifier accuracy on held-out real digits at least {numbers['classifier_floor']:.2f}: "
               f"{'met' if classifier_ok else 'NOT met'}; class accuracy of samples at "
               f"{scale_name(numbers['guided_scale'])}, {floor_steps} Karras steps, at least "
               f"{numbers['sample_accuracy_floor']:.2f}: {'met' if samples_ok else 'NOT met'}.")
    return ("The models (benchmarks/models/manifest.json) and their judges:\n\n" + report.table(header, rows, 2)
            + f"\n\n{verdict}\n\n" + report.table(floors, floor_rows, 2)
            + f"\n\n{numbers['batch']} samples per run (each digit equally often), FID in the classifier's "
            f"{numbers['feature_width']}-wide feature space against the held-out digits (so the real-vs-real and "
            "training-vs-held-out lines are the floor a perfect model would reach, the first at half the set "
            "size); the reference ODE error is the reference solver's distance to itself at twice the steps, "
            "per starting sigma.")


def summary_text(numbers: Mapping[str, Any]) -> str:
    parts = [f"Ratios to Karras rho 7 (FID and ODE error, {report.percent(numbers['level'])} paired-bootstrap "
             "interval) and the change in class accuracy (percentage points), per cell:"]
    for key, by_schedule in numbers["tables"].items():
        cells = list(next(iter(by_schedule.values())))
        header = ["schedule"] + [f"{c} {word}" for c in cells for word in ("FID", "ODE", "acc")]
        rows = []
        for schedule, by_cell in by_schedule.items():
            row = [schedule]
            for c in cells:
                change = by_cell[c]["accuracy_change"]
                row += [interval_text(by_cell[c][FID]), interval_text(by_cell[c][ODE_ERROR]),
                        f"{change:+g}" if change is not None else ""]
            rows.append(row)
        parts.append(f"**{key}**\n\n" + report.table(header, rows, align_right_from=1))
    return "\n\n".join(parts)


def look_text(numbers: Mapping[str, Any]) -> str:
    parts = ["The washed-out look: mean RMS contrast of the samples relative to the real digits' (below 1 is "
             "washed out) and the 1-Wasserstein distance between their pixel values and the real digits' "
             "(none: the same histogram):"]
    for key, by_schedule in numbers.items():
        cells = list(next(iter(by_schedule.values())))
        header = ["schedule"] + [f"{c} {word}" for c in cells for word in ("contrast", "histogram")]
        rows = [[schedule] + [f"{v[c][word]:.3f}" for c in cells for word in ("contrast", "histogram")]
                for schedule, v in by_schedule.items()]
        parts.append(f"**{key}**\n\n" + report.table(header, rows, align_right_from=1))
    return "\n\n".join(parts)


def losses_text(numbers: Mapping[str, Any]) -> str:
    parts = [f"Every cell where a KES schedule is worse than Karras rho 7 (its whole {report.percent(numbers['level'])} "
             f"interval above 1; FID off euler and dpmpp_2m, which has no interval: more than "
             f"{report.percent(numbers['margin'] - 1)} above):"]
    for key, losses in numbers["losses"].items():
        if not losses:
            parts.append(f"**{key}**: none.")
            continue
        grouped: dict[str, list[str]] = {}
        for loss in losses:
            grouped.setdefault(loss["schedule"], []).append(
                f"{loss['cell']} {METRIC_WORDS[loss['metric']]} {report.ratio(loss['ratio'][0])}")
        parts.append(f"**{key}**: " + "; ".join(f"{schedule}: {', '.join(cells)}" for schedule, cells in grouped.items())
                     + ".")
    return "\n\n".join(parts)


def tables_text(numbers: Mapping[str, Any]) -> str:
    parts = ["Every cell: ratio to Karras rho 7 (below 1 is better)."]
    for key, by_metric in numbers["tables"].items():
        for metric, by_schedule in by_metric.items():
            cells = list(next(iter(by_schedule.values())))
            rows = [[schedule] + [report.ratio(v[c][0]) if v[c] is not None else "" for c in cells]
                    for schedule, v in by_schedule.items()]
            parts.append(f"**{key}, {METRIC_WORDS[metric]}**\n\n"
                         + report.table(["schedule", *cells], rows, align_right_from=1))
    same = numbers["same_as"]
    if same:
        parts.append("Same sigmas as another schedule (up to float rounding), so sampled once: "
                     + ", ".join(f"{name} = {kept}" for name, kept in same.items()) + ".")
    return "\n\n".join(parts)


def nfe_text(numbers: Mapping[str, Any]) -> str:
    steps = list(next(iter(numbers.values())))
    rows = [[sampler] + ["/".join(str(c) for c in by_n[n]) for n in steps] for sampler, by_n in numbers.items()]
    return ("Model calls (NFE) counted per sampler and step count (a guided call batches the conditional and "
            "unconditional halves and counts once):\n\n" + report.table(["sampler", *steps], rows, 1))


# --- files and command line ------------------------------------------------------------------------

def write(results: dict[str, Any], folder: Path, extra_json: Path | None = None) -> Path:
    json_path, md_path = folder / f"{NAME}.json", folder / f"{NAME}.md"
    report.write_data_and_report(results, json_path, build_report, extra_json)
    header = report.header_line(results["written_by"], results.get("report_regenerated"))
    report.write_markdown(md_path, header, render(results["report"]))
    figure.draw(results["report"]["figure"], folder / f"{NAME}.png")
    return md_path


def quick_table(numbers: Mapping[str, Any]) -> str:
    """The quick mode's one table: FID and ODE error ratios to Karras per summary cell."""
    key, by_schedule = next(iter(numbers["summary"]["tables"].items()))
    cells = list(next(iter(by_schedule.values())))
    header = ["schedule / Karras"] + [f"{c} {word}" for c in cells for word in ("FID", "ODE")]
    rows = [[schedule] + [report.ratio((v[c][metric] or [None])[0]) for c in cells for metric in (FID, ODE_ERROR)]
            for schedule, v in by_schedule.items()]
    return f"{key}:\n\n" + report.table(header, rows, align_right_from=1)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python benchmarks/learned.py",
                                     description="Every schedule on the learned digit models, against Karras rho 7.")
    parser.add_argument("--quick", action="store_true",
                        help="the held-out model, euler and dpmpp_2m at 10 and 20 steps, the guided scale, "
                             "200 samples: a few minutes")
    parser.add_argument("--workers", type=int, default=2, help="(model, scale) tasks run in parallel (default 2)")
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where learned.md, .json and .png go (default benchmarks/results; benchmarks/out "
                             "for --quick)")
    parser.add_argument("--report-only", dest="report_only", metavar="JSON", type=Path,
                        help="only write the .md and the figure again from a saved learned.json, without sampling")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.report_only:
        results = report.saved_run(arguments.report_only, NAME, "learned.py", argv)
        md_path = write(results, arguments.results or arguments.report_only.parent)
        report.log(f"wrote {md_path}")
        return 0
    settings = QUICK if arguments.quick else FULL
    folder = report.results_folder(arguments.results, arguments.quick)
    started = time.perf_counter()
    record = report.run_record(argv, "learned.py")
    results = run(settings, arguments.workers)
    record["run_seconds"] = time.perf_counter() - started
    results = {"written_by": record, **results}
    md_path = write(results, folder)
    numbers = results["report"]
    print(quick_table(numbers) if arguments.quick else md_path.read_text(encoding="utf-8"))
    print("\n" + floors_line(numbers))
    report.log(f"wrote {md_path}, {md_path.with_suffix('.json')} and the figure")
    return 0


def floors_line(numbers: Mapping[str, Any]) -> str:
    """The floors, printed by every run."""
    parts = []
    for model, m in numbers["models"]["models"].items():
        parts.append(f"{model}: classifier accuracy {m['classifier_accuracy']:.3f} (floor {CLASSIFIER_FLOOR:.2f})")
        for scale, task in m["tasks"].items():
            parts.append(f"{model} {scale_name(float(scale))}: sample class accuracy {task['floor']['accuracy']:.3f} "
                         f"at {FLOOR_STEPS} Karras steps (floor {SAMPLE_ACCURACY_FLOOR:.2f} at the guided scale), FID "
                         f"{task['floor']['fid']:.3g} vs real-vs-real {m['real_vs_real_fid']:.3g}")
    return "\n".join(parts)
