"""The learned benchmark's metrics on inputs whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench.learned import metrics  # noqa: E402

pytestmark = pytest.mark.bench


def gaussian_features(seed: int, n: int = 400, d: int = 8, shift: float = 0.0, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale + shift


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 12))
def test_fid_of_a_set_against_itself_is_zero(seed, d):
    features = gaussian_features(seed, n=50, d=d)
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(0.05, 3.0))
def test_a_shifted_set_scores_worse_by_the_squared_shift(seed, shift):
    """A set shifted by c in every feature scores d c^2 against the original, and shifting one of two sets
    changes their FID by exactly the change of the squared mean difference (covariances are unchanged)."""
    a, b = gaussian_features(seed), gaussian_features(seed + 1)
    d = a.shape[1]
    assert metrics.frechet_distance(a, a + shift) == pytest.approx(d * shift ** 2, rel=1e-6)
    assert metrics.frechet_distance(a, a + shift) > metrics.frechet_distance(a, a)
    difference = (a.mean(0) - b.mean(0)).sum().item()
    change = metrics.frechet_distance(a, b + shift) - metrics.frechet_distance(a, b)
    assert change == pytest.approx(d * shift ** 2 - 2 * shift * difference, rel=1e-6, abs=1e-9)


def test_fid_matches_the_closed_form_for_diagonal_covariances():
    """For diagonal covariances the trace term is sum (sqrt(a_i) - sqrt(b_i))^2."""
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    got = metrics.frechet_distance_from_statistics(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected, rel=1e-12)


def test_fid_is_symmetric():
    a, b = gaussian_features(1, scale=2.0), gaussian_features(2, shift=0.3)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-9)


def test_bootstrap_interval_of_a_schedule_against_itself_is_exactly_one():
    features, real = gaussian_features(3, n=60), gaussian_features(4, n=50)
    draws = torch.randint(60, (20, 60), generator=torch.Generator().manual_seed(0))
    real_draws = torch.randint(50, (20, 50), generator=torch.Generator().manual_seed(1))
    assert metrics.bootstrap_fid_ratio(features, features, real, draws, real_draws, 0.9) == (1.0, 1.0)


def test_bootstrap_interval_holds_a_worse_schedule_above_one_around_its_ratio():
    """The schedule's samples are the baseline's moved a little (paired, as schedules sharing their noise
    are): the interval lies above 1 and contains the full sets' ratio, which the resamples' own ratios,
    pulled towards 1 by repeated rows, would not."""
    real = gaussian_features(5, n=300, d=16)
    good = gaussian_features(6, n=300, d=16, shift=0.05)
    bad = good + 0.04
    draws = torch.randint(300, (200, 300), generator=torch.Generator().manual_seed(0))
    real_draws = torch.randint(300, (200, 300), generator=torch.Generator().manual_seed(1))
    low, high = metrics.bootstrap_fid_ratio(bad, good, real, draws, real_draws, 0.9)
    ratio = metrics.frechet_distance(bad, real) / metrics.frechet_distance(good, real)
    assert 1 < low < ratio < high


def test_contrast_is_each_images_pixel_spread():
    flat = torch.zeros(4, 1, 16, 16)
    assert metrics.mean_contrast(flat) == 0
    checker = (torch.arange(256).reshape(16, 16) % 2 * 2 - 1).float().expand(3, 1, 16, 16)
    assert metrics.mean_contrast(checker) == pytest.approx(1.0, rel=1e-2)
    assert metrics.mean_contrast(checker * 0.5) == pytest.approx(0.5 * metrics.mean_contrast(checker))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), offset=st.floats(-0.5, 0.5))
def test_histogram_distance_is_zero_for_the_same_pixels_and_the_offset_for_shifted_ones(seed, offset):
    images = torch.rand(8, 1, 16, 16, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1
    real = metrics.pixel_quantiles(images)
    assert metrics.histogram_distance(images, real) == pytest.approx(0.0, abs=1e-12)
    assert metrics.histogram_distance(images + offset, real) == pytest.approx(abs(offset), rel=1e-9, abs=1e-12)


def test_pixel_histogram_counts_fractions_and_puts_values_outside_in_the_end_bins():
    images = torch.tensor([-3.0, -1.0, 0.05, 0.99, 2.0]).reshape(1, 1, 1, 5)
    histogram = metrics.pixel_histogram(images)
    assert len(histogram) == metrics.HISTOGRAM_BINS and sum(histogram) == pytest.approx(1.0)
    assert histogram[0] == pytest.approx(0.4) and histogram[-1] == pytest.approx(0.4)
    assert histogram[metrics.HISTOGRAM_BINS // 2] == pytest.approx(0.2)


def test_class_accuracy_counts_the_asked_for_class():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(x.flatten(1)[:, 0].long(), 10).float()
    images = torch.tensor([3.0, 5.0, 5.0, 1.0])[:, None, None, None].expand(4, 1, 16, 16)
    assert metrics.class_accuracy(Fixed(), images, torch.tensor([3, 5, 4, 1])) == pytest.approx(0.75)
