"""What the digit benchmarks measure on a batch of samples, each against the held-out real digits.

- Class accuracy: the fraction of conditional samples the classifier assigns to the class they were
  asked for (prompt adherence).
- Fréchet distance in the classifier's 64-wide feature space (an FID for this data set):
  |mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2)), with the trace of the square root taken from the
  eigenvalues of C_a^(1/2) C_b C_a^(1/2) (symmetric, so no complex round-off). Like every FID it is
  biased upwards for small sets, so it is only compared between sets of the same size; the real-vs-real
  reference is two halves of the held-out digits.
- Contrast: each image's RMS contrast (standard deviation of its pixels), averaged, relative to the real
  digits': below 1 is the washed-out look.
- Pixel histogram: the 1-Wasserstein distance between the samples' pixel values and the real digits'
  (the area between their quantile functions), and the histograms themselves for the figure.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

HISTOGRAM_BINS = 20
QUANTILES = torch.linspace(0.0005, 0.9995, 1000, dtype=torch.float64)


@torch.no_grad()
def classifier_features(classifier: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    return classifier.features(images.to(torch.float32)).to(torch.float64)


@torch.no_grad()
def class_accuracy(classifier: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((classifier(images.to(torch.float32)).argmax(1) == labels).double().mean())


def feature_statistics(features: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of (n, d) features, in float64."""
    values = features.to(torch.float64).numpy()
    return values.mean(0), np.atleast_2d(np.cov(values, rowvar=False))


def frechet_distance_from_statistics(mean_a: np.ndarray, covariance_a: np.ndarray,
                                     mean_b: np.ndarray, covariance_b: np.ndarray) -> float:
    eigenvalues, eigenvectors = np.linalg.eigh(covariance_a)
    root_a = (eigenvectors * np.sqrt(eigenvalues.clip(min=0))) @ eigenvectors.T
    cross = np.linalg.eigvalsh(root_a @ covariance_b @ root_a).clip(min=0)
    distance = float(np.sum((mean_a - mean_b) ** 2) + np.trace(covariance_a) + np.trace(covariance_b)
                     - 2 * np.sqrt(cross).sum())
    return max(distance, 0.0)  # round-off can leave -1e-12 for identical sets


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    return frechet_distance_from_statistics(*feature_statistics(features_a), *feature_statistics(features_b))


def mean_contrast(images: torch.Tensor) -> float:
    """Mean over images of each one's RMS contrast (the standard deviation of its pixel values)."""
    return float(images.to(torch.float64).flatten(1).std(1).mean())


def pixel_quantiles(images: torch.Tensor) -> torch.Tensor:
    return torch.quantile(images.to(torch.float64).flatten(), QUANTILES)


def histogram_distance(images: torch.Tensor, real_quantiles: torch.Tensor) -> float:
    """1-Wasserstein distance between the pixel values of ``images`` and those whose quantiles are given."""
    return float((pixel_quantiles(images) - real_quantiles).abs().mean())


def pixel_histogram(images: torch.Tensor) -> list[float]:
    """Fraction of pixel values in each of HISTOGRAM_BINS equal bins over [-1, 1] (outside: the end bins)."""
    values = images.to(torch.float64).flatten().clamp(-1, 1)
    counts = torch.histc(values, bins=HISTOGRAM_BINS, min=-1, max=1)
    return (counts / counts.sum()).tolist()


def bootstrap_fid_ratio(features: torch.Tensor, baseline_features: torch.Tensor, real_features: torch.Tensor,
                        resamples: torch.Tensor, real_resamples: torch.Tensor, level: float) -> tuple[float, float]:
    """Interval of FID(samples) / FID(baseline samples), both against the real digits, over paired resamples.

    ``resamples`` (r, n) index the samples, the same rows for the schedule and its baseline (they share
    their noise); ``real_resamples`` (r, m) index the real digits, the same draw for both as well. A
    resample repeats about a third of its rows, which adds much the same amount to both FIDs, so the
    ratio of two resampled FIDs is pulled towards 1 (a percentile interval of it can miss the ratio of the
    full sets) while their difference is not. So the interval is the percentile interval of the
    difference, divided by the baseline's FID on the full sets, plus 1.
    """
    real = feature_statistics(real_features)
    baseline_fid = frechet_distance_from_statistics(*feature_statistics(baseline_features), *real)
    differences = []
    for sample_index, real_index in zip(resamples, real_resamples):
        real = feature_statistics(real_features[real_index])
        differences.append(frechet_distance_from_statistics(*feature_statistics(features[sample_index]), *real)
                           - frechet_distance_from_statistics(*feature_statistics(baseline_features[sample_index]), *real))
    tail = (1 - level) / 2
    low, high = np.quantile(differences, tail), np.quantile(differences, 1 - tail)
    return float(1 + low / baseline_fid), float(1 + high / baseline_fid)


def real_vs_real_fid(real_features: torch.Tensor, seed: int) -> float:
    """FID between two seeded random halves of the real digits: the floor a set of that size reaches."""
    order = torch.randperm(len(real_features), generator=torch.Generator().manual_seed(seed))
    half = len(order) // 2
    return frechet_distance(real_features[order[:half]], real_features[order[half:2 * half]])


def rms(values: Sequence[float]) -> float:
    return float(np.sqrt(np.mean(np.square(values))))
