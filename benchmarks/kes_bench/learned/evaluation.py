"""Sampling a digit model with k-diffusion's samplers and measuring the samples (``metrics``).

A ``ModelEvaluator`` holds one model at one CFG scale with a seeded batch: the class labels (each digit
equally often), the noise, and the held-out real digits' features, contrast and pixel quantiles. It
samples a schedule with a sampler from x = noise x sigmas[0] and returns the row of measurements.

ODE error: the RMS per pixel of the distance to the model's own probability-flow ODE solution from the
same start. The reference is DPM-Solver++(2M) on a Karras rho 7 schedule from the start down to
sigma_min (many steps), then the final step to 0 every sampler takes; its own error is the RMS
difference to the same solver at twice the steps, on part of the batch. Schedules that start at the
same sigma (to ``START_TOLERANCE``) share a reference.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..evaluation import DETERMINISTIC, run_sampler
from ..schedules import SD_SIGMA_MIN, get_sigmas_karras
from . import metrics
from .denoiser import GuidedDenoiser
from .models import DigitModel

START_TOLERANCE = 1e-5
REFERENCE_CHECK_SAMPLES = 100


@dataclasses.dataclass
class Row:
    """What one (schedule, sampler, steps) run measured, and the per-sample values its intervals need."""
    nfe: int
    accuracy: float
    fid: float
    contrast_ratio: float
    histogram_distance: float
    ode_error: float | None
    features: torch.Tensor
    squared_errors: torch.Tensor | None

    def summary(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in ("nfe", "accuracy", "fid", "contrast_ratio",
                                                     "histogram_distance", "ode_error")}


def solve_reference(denoiser, x_start: torch.Tensor, sigma_start: float, steps: int) -> torch.Tensor:
    sigmas = get_sigmas_karras(steps, SD_SIGMA_MIN, sigma_start, rho=7.0)
    return run_sampler("dpmpp_2m", denoiser, x_start, sigmas, seed=0)


class ModelEvaluator:
    def __init__(self, model: DigitModel, scale: float, batch: int, seed: int, reference_steps: int):
        self.model = model
        self.scale = scale
        self.seed = seed
        self.reference_steps = reference_steps
        generator = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(batch) % 10
        self.noise = torch.randn((batch, 1, 16, 16), generator=generator)
        real = model.data.held_images
        self.real_features = metrics.classifier_features(model.classifier, real)
        self.real_statistics = metrics.feature_statistics(self.real_features)
        self.real_quantiles = metrics.pixel_quantiles(real)
        self.real_contrast = metrics.mean_contrast(real)
        self.references: dict[float, torch.Tensor] = {}
        self.reference_errors: dict[float, float] = {}

    def denoiser(self, labels: torch.Tensor | None = None) -> GuidedDenoiser:
        return GuidedDenoiser(self.model.wrapper, self.labels if labels is None else labels, self.scale)

    def reference(self, sigma_start: float) -> torch.Tensor:
        """The converged ODE solution from noise x sigma_start (computed once per start)."""
        for known in self.references:
            if abs(known - sigma_start) <= START_TOLERANCE * known:
                return self.references[known]
        solution = solve_reference(self.denoiser(), self.noise * sigma_start, sigma_start, self.reference_steps)
        part = slice(0, REFERENCE_CHECK_SAMPLES)
        finer = solve_reference(self.denoiser(self.labels[part]), self.noise[part] * sigma_start, sigma_start,
                                2 * self.reference_steps)
        self.reference_errors[sigma_start] = float((solution[part] - finer).pow(2).mean().sqrt())
        self.references[sigma_start] = solution
        return solution

    def measure(self, sampler: str, sigmas: torch.Tensor, with_reference: bool = True) -> Row:
        """Sample with ``sampler`` on ``sigmas`` (float32, ending in 0) and measure the samples."""
        denoiser = self.denoiser()
        sigma_start = float(sigmas[0])
        samples = run_sampler(sampler, denoiser, self.noise * sigma_start, sigmas, self.seed + len(sigmas))
        return self.row(samples, denoiser.calls, sampler in DETERMINISTIC and with_reference, sigma_start)

    def row(self, samples: torch.Tensor, nfe: int, ode: bool, sigma_start: float) -> Row:
        features = metrics.classifier_features(self.model.classifier, samples)
        squared = (samples - self.reference(sigma_start)).pow(2).flatten(1).mean(1).double() if ode else None
        return Row(
            nfe=nfe,
            accuracy=metrics.class_accuracy(self.model.classifier, samples, self.labels),
            fid=metrics.frechet_distance_from_statistics(*metrics.feature_statistics(features), *self.real_statistics),
            contrast_ratio=metrics.mean_contrast(samples) / self.real_contrast,
            histogram_distance=metrics.histogram_distance(samples, self.real_quantiles),
            ode_error=float(squared.mean().sqrt()) if squared is not None else None,
            features=features,
            squared_errors=squared,
        )
