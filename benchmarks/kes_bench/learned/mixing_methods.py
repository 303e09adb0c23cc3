"""Iterative mixing on the digit models at twice their size: python benchmarks/learned_mixing.py [--quick].

Each model makes its digits at its own size (16 x 16; euler, 20 Karras steps, CFG at the learned
benchmark's guided scale), they are upscaled bilinearly to 32 x 32, and then each method makes the 32 x 32
digit with the same labels, the same noise and the same 20-step schedule:
- **upscale only**: the bilinear upscale itself (no model call);
- **img2img**: the upscale noised to a denoising strength and sampled from there (what hires fix does);
- **mixing**: the upscale unsampled along the schedule and mixed in at every step (``simple_kes.mixing``),
  each blending schedule and a few alpha_1 values, one with the seed's low-denoise clean-up pass;
- **direct 2x**: sampling 32 x 32 noise from scratch, the model working past its training size.
Measured: class accuracy of the result downscaled to 16 x 16 by the model's own judge (the global
structure kept); FID at 32 x 32 against the held-out digits at 32 x 32, in the features of a judge trained
here at that size on the training digits (seeded, about a minute), with a paired-bootstrap interval of its
ratio to img2img at strength 0.5; the high-frequency energy, the part of an image a 16 x 16 image cannot
hold (the image minus its 2 x 2 average upsampled back), relative to the real digits' (they are
upsampled 8 x 8 originals: on this data energy above 1 is grain, not detail); and model evaluations per
sample, counted.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch.nn import functional as F

from simple_kes import mixing

from .. import report
from ..evaluation import run_sampler
from ..schedules import karras
from . import metrics
from .benchmark import GUIDED_SCALE, NOISE_SEED, usable_cpus
from .data import split
from .evaluation import ModelEvaluator
from .guidance_methods import Predictions, wilson_interval
from .models import load
from .network import DigitClassifier32
from .training import HELD_OUT_MODEL, RECIPES, SEARCH_MODEL, classifier_accuracy, train_classifier

NAME = "learned_mixing"
SCRIPT = "learned_mixing.py"
STEPS = 20
SIZE = 32
UPSCALE, IMG2IMG, MIXING, DIRECT = "upscale only", "img2img", "mixing", "direct 2x"
BASELINE = (IMG2IMG, "strength 0.5")
CLEANUP_STRENGTH = 0.15
LEVEL = 0.9


@dataclasses.dataclass(frozen=True)
class Method:
    kind: str
    setting: str
    strength: float = 0.5
    schedule: str = "cosine"
    alpha_1: float = 1.0
    cleanup: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.kind} {self.setting}".strip()


def all_methods() -> tuple[Method, ...]:
    return (Method(UPSCALE, ""),
            *(Method(IMG2IMG, f"strength {s:g}", strength=s) for s in (0.3, 0.5, 0.7)),
            *(Method(MIXING, f"cosine alpha {a:g}", alpha_1=a) for a in (0.5, 1.0, 2.0)),
            Method(MIXING, "linear", schedule="linear"),
            Method(MIXING, "logistic alpha 1", schedule="logistic"),
            Method(MIXING, f"cosine alpha 1 + clean-up {CLEANUP_STRENGTH:g}", cleanup=CLEANUP_STRENGTH),
            Method(DIRECT, ""))


@dataclasses.dataclass(frozen=True)
class Settings:
    models: tuple[str, ...]
    batch: int
    fid_resamples: int
    judge_epochs: int


FULL = Settings((SEARCH_MODEL, HELD_OUT_MODEL), 400, 200, 40)
QUICK = Settings((HELD_OUT_MODEL,), 64, 30, 4)


def upscale(images: torch.Tensor) -> torch.Tensor:
    return F.interpolate(images, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def downscale(images: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(images, 2)


def high_frequency_energy(images: torch.Tensor) -> float:
    """Mean squared difference between the images and their 2 x 2 averages upsampled back."""
    return float((images - upscale(downscale(images))).pow(2).mean())


def strength_schedule(strength: float) -> torch.Tensor:
    """The last ``round(STEPS * strength)`` steps of the 20-step Karras schedule, as img2img takes them."""
    sigmas = karras(STEPS)
    return sigmas[STEPS - round(STEPS * strength):]


def make(method: Method, predictions: Predictions, upscaled: torch.Tensor, noise: torch.Tensor,
         fresh: torch.Tensor) -> torch.Tensor:
    """One method's 32 x 32 digits from the upscaled ones."""
    guided = predictions.guided(GUIDED_SCALE)
    if method.kind == UPSCALE:
        return upscaled
    if method.kind == DIRECT:
        sigmas = karras(STEPS)
        return run_sampler("euler", guided, fresh * sigmas[0], sigmas, NOISE_SEED)
    if method.kind == IMG2IMG:
        sigmas = strength_schedule(method.strength)
        return run_sampler("euler", guided, upscaled + noise * sigmas[0], sigmas, NOISE_SEED)
    sigmas = karras(STEPS)
    unsampled = mixing.unsample(upscaled, sigmas, noise).flip(0)
    weights = mixing.blending_weights(STEPS, method.schedule, method.alpha_1)
    mixed = run_sampler("euler", mixing.MixingDenoiser(guided, unsampled, weights, sigmas), upscaled + noise * sigmas[0],
                        sigmas, NOISE_SEED)
    if not method.cleanup:
        return mixed
    tail = strength_schedule(method.cleanup)
    return run_sampler("euler", guided, mixed + fresh * tail[0], tail, NOISE_SEED)


def run_model(model_name: str, settings: Settings, methods: Sequence[Method], threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    started = time.perf_counter()
    model = load(model_name)
    evaluator = ModelEvaluator(model, GUIDED_SCALE, settings.batch, NOISE_SEED, reference_steps=0)
    recipe = dataclasses.replace(RECIPES[model_name], classifier_epochs=settings.judge_epochs)
    data32 = split(recipe.split_seed, SIZE)
    judge = train_classifier(recipe, data32, report.log, make=DigitClassifier32)
    real_features = metrics.classifier_features(judge, data32.held_images)
    real_statistics = metrics.feature_statistics(real_features)
    real_energy = high_frequency_energy(data32.held_images)
    base_predictions = Predictions(model, evaluator.labels)
    sigmas = karras(STEPS)
    base = run_sampler("euler", base_predictions.guided(GUIDED_SCALE), evaluator.noise * sigmas[0], sigmas, NOISE_SEED)
    upscaled = upscale(base)
    generator = torch.Generator().manual_seed(NOISE_SEED + 2)
    noise = torch.randn(upscaled.shape, generator=generator)
    fresh = torch.randn(upscaled.shape, generator=generator)
    results, features = {}, {}
    for method in methods:
        predictions = Predictions(model, evaluator.labels)
        images = make(method, predictions, upscaled, noise, fresh)
        features[method.name] = metrics.classifier_features(judge, images)
        accuracy = metrics.class_accuracy(model.classifier, downscale(images), evaluator.labels)
        results[method.name] = {
            "method": method.name, "kind": method.kind, "evaluations_per_sample": predictions.evaluations,
            "accuracy": accuracy, "accuracy_interval": wilson_interval(accuracy, settings.batch, LEVEL),
            "fid": metrics.frechet_distance_from_statistics(*metrics.feature_statistics(features[method.name]),
                                                            *real_statistics),
            "high_frequency_energy": high_frequency_energy(images) / real_energy,
            "examples": [images[i, 0].tolist() for i in range(10)],
        }
        report.log(f"  {model_name} {method.name}: {time.perf_counter() - started:.0f} s")
    baseline = results[" ".join(BASELINE)]
    resamples = torch.randint(settings.batch, (settings.fid_resamples, settings.batch),
                              generator=torch.Generator().manual_seed(NOISE_SEED + 3))
    real_resamples = torch.randint(len(real_features), (settings.fid_resamples, len(real_features)),
                                   generator=torch.Generator().manual_seed(NOISE_SEED + 4))
    for name, row in results.items():
        row["fid_ratio"] = [row["fid"] / baseline["fid"], *metrics.bootstrap_fid_ratio(
            features[name], features[" ".join(BASELINE)], real_features, resamples, real_resamples, LEVEL)]
    return {"model": model_name, "judge_accuracy": classifier_accuracy(judge, data32),
            "rows": list(results.values()), "seconds": time.perf_counter() - started}


def run(settings: Settings, workers: int) -> dict[str, Any]:
    parallel = max(1, min(workers, len(settings.models)))
    threads = max(1, usable_cpus() // parallel)
    tasks = [(name, settings, all_methods(), threads) for name in settings.models]
    if parallel > 1:
        with multiprocessing.get_context("fork").Pool(parallel) as pool:
            outcomes = pool.starmap(run_model, tasks, chunksize=1)
    else:
        outcomes = [run_model(*task) for task in tasks]
    return {"benchmark": NAME, "settings": dataclasses.asdict(settings), "baseline": " ".join(BASELINE),
            "steps": STEPS, "size": SIZE, "scale": GUIDED_SCALE, "models": outcomes}


# --- the report ------------------------------------------------------------------------------------

def build_report(results: Mapping[str, Any]) -> dict[str, Any]:
    tables = {}
    for outcome in results["models"]:
        tables[outcome["model"]] = {
            "judge_accuracy": outcome["judge_accuracy"],
            "rows": [{key: row[key] for key in ("method", "accuracy", "accuracy_interval", "fid", "fid_ratio",
                                                 "high_frequency_energy", "evaluations_per_sample")}
                     for row in outcome["rows"]]}
    return {"results": {"baseline": results["baseline"], "size": results["size"], "steps": results["steps"],
                        "tables": tables},
            "findings": findings_numbers(results)}


def verdict_of(ratio: Sequence[float]) -> str:
    return "better" if ratio[2] < 1 else "worse" if ratio[1] > 1 else "level"


def findings_numbers(results: Mapping[str, Any]) -> dict[str, Any]:
    """Per model: the best mixing setting against img2img at the same strength and schedule, and the others."""
    found = {}
    for outcome in results["models"]:
        rows = {row["method"]: row for row in outcome["rows"]}
        mixes = [row for row in outcome["rows"] if row["method"].startswith(MIXING)]
        best = min(mixes, key=lambda row: row["fid"])
        best_img2img = min((row for row in outcome["rows"] if row["method"].startswith(IMG2IMG)),
                           key=lambda row: row["fid"])
        baseline = rows[results["baseline"]]
        found[outcome["model"]] = {
            "baseline_name": results["baseline"],
            "upscale_beats_every_method": all(rows[UPSCALE]["fid"] <= row["fid"] for row in outcome["rows"]),
            "best_mixing": {"method": best["method"], "fid_ratio": best["fid_ratio"],
                            "verdict": verdict_of(best["fid_ratio"]), "accuracy": best["accuracy"],
                            "high_frequency_energy": best["high_frequency_energy"],
                            "evaluations": best["evaluations_per_sample"]},
            "best_img2img": {key: best_img2img[key] for key in ("method", "fid_ratio", "accuracy",
                                                                  "high_frequency_energy", "evaluations_per_sample")},
            "baseline": {"accuracy": baseline["accuracy"], "high_frequency_energy": baseline["high_frequency_energy"]},
            "mixing_better": sum(verdict_of(row["fid_ratio"]) == "better" for row in mixes),
            "mixing_worse": sum(verdict_of(row["fid_ratio"]) == "worse" for row in mixes),
            "mixing_count": len(mixes),
            "direct": {key: rows[f"{DIRECT}"][key] for key in ("accuracy", "fid_ratio")},
            "upscale": {key: rows[UPSCALE][key] for key in ("accuracy", "fid_ratio", "high_frequency_energy")},
        }
    return found


def render(numbers: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [("results", results_text(numbers["results"])), ("findings", findings_text(numbers["findings"]))]


def results_text(numbers: Mapping[str, Any]) -> str:
    size, steps = numbers["size"], numbers["steps"]
    parts = [f"Each digit model's digits upscaled to {size} x {size} and remade with the same labels, noise and "
             f"{steps}-step Karras schedule (euler, CFG at the guided scale). Accuracy: the model's judge on the "
             f"result downscaled to its size (90% Wilson interval). FID: at {size} x {size} against the held-out "
             f"digits, in the features of a judge trained at that size; ratio to {numbers['baseline']} with its 90% "
             "paired-bootstrap interval. High-frequency energy: relative to the real digits' (above 1 is grain on "
             "this data). Evaluations: model evaluations per sample."]
    for model, table in numbers["tables"].items():
        parts += ["", f"**{model}** (the {size} x {size} judge recognises {table['judge_accuracy']:.3f} of its held-out "
                  "digits)", ""]
        parts.append(report.table(
            ["method", "accuracy", "FID", "FID ratio", "high-frequency energy", "evaluations"],
            [[row["method"], f"{row['accuracy']:.3f} ({row['accuracy_interval'][0]:.3f}-{row['accuracy_interval'][1]:.3f})",
              f"{row['fid']:.2f}", report.ratio_interval(row["fid_ratio"]), f"{row['high_frequency_energy']:.2f}",
              str(row["evaluations_per_sample"])] for row in table["rows"]], align_right_from=1))
    return "\n".join(parts)


def findings_text(numbers: Mapping[str, Any]) -> str:
    lines = []
    for model, found in numbers.items():
        best, direct, upscaled = found["best_mixing"], found["direct"], found["upscale"]
        lines.append(
            f"- **{model}**: the best mixing setting, {best['method']}, has an FID of "
            f"{report.ratio_interval(best['fid_ratio'])} times {found['baseline_name']}'s "
            f"({best['verdict']}), class accuracy {best['accuracy']:.3f} against {found['baseline']['accuracy']:.3f}, "
            f"and high-frequency energy {best['high_frequency_energy']:.2f} against "
            f"{found['baseline']['high_frequency_energy']:.2f}. Of the {found['mixing_count']} mixing settings, "
            f"{found['mixing_better']} are better than that img2img and {found['mixing_worse']} worse. Direct "
            f"generation at twice the size keeps the class of {direct['accuracy']:.3f} of the digits (FID "
            f"{report.ratio_interval(direct['fid_ratio'])} times img2img's); the bare bilinear upscale keeps "
            f"{upscaled['accuracy']:.3f} at an FID of {report.ratio_interval(upscaled['fid_ratio'])} times img2img's. "
            f"But img2img at its best strength, {found['best_img2img']['method']}, comes close: FID "
            f"{report.ratio_interval(found['best_img2img']['fid_ratio'])}, accuracy "
            f"{found['best_img2img']['accuracy']:.3f}, high-frequency energy "
            f"{found['best_img2img']['high_frequency_energy']:.2f}, at {found['best_img2img']['evaluations_per_sample']} "
            f"model evaluations per sample against the mixing's {best['evaluations']}.")
    if all(found["upscale_beats_every_method"] for found in numbers.values()):
        lines += ["", "No method improves on the bare upscale's FID here. The real digits at this size are "
                  "themselves bilinear upsamples of 8 x 8 originals, so the upscale already has their form, and "
                  "any redrawing moves away from it. What the comparison shows is how much of each digit a method "
                  "keeps while the model redraws it at a size it was not trained for, and how much grain it "
                  "leaves."]
    return "\n".join(lines)


def write(results: dict[str, Any], folder: Path, plot: bool = True) -> Path:
    md_path = report.write_results(results, folder, NAME, build_report, render)
    if plot:
        draw(results, md_path.with_suffix(".png"))
    return md_path


def draw(results: Mapping[str, Any], path: Path) -> None:
    """Example outputs: one digit of each class per method (rows), per model (panels)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outcomes = results["models"]
    methods = [row["method"] for row in outcomes[0]["rows"]]
    figure = Figure(figsize=(6.5 * len(outcomes), 0.62 * len(methods) + 1.0), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, len(outcomes), squeeze=False)[0]
    for axes, outcome in zip(panels, outcomes):
        rows = [torch.cat([torch.tensor(example) for example in row["examples"]], dim=1) for row in outcome["rows"]]
        grid = torch.cat(rows, dim=0)
        axes.imshow(((grid.clamp(-1, 1) + 1) / 2).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes.set_yticks([SIZE * (i + 0.5) for i in range(len(methods))], methods, fontsize=7)
        axes.set_xticks([SIZE * (i + 0.5) for i in range(10)], [str(i) for i in range(10)], fontsize=7)
        axes.set_title(f"{outcome['model']}: {SIZE} x {SIZE} results, one digit per class", fontsize=9)
    figure.suptitle("Iterative mixing on the learned digit models at twice their size (same labels and noise "
                    "in every row)", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def main(argv: Sequence[str] | None = None) -> int:
    return report.figure_benchmark_command(
        argv, name=NAME, script=SCRIPT, description="Iterative mixing on the learned digit models at twice their size.",
        quick_help="the held-out model, a small batch, a short-trained judge (under a minute)",
        run=lambda quick, workers: run(QUICK if quick else FULL, workers), write=write,
        finite=lambda results: all(math.isfinite(row["fid"]) for outcome in results["models"]
                                   for row in outcome["rows"]))
