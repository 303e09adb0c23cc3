"""The quality benchmark's exact denoisers and reference ODE solver are right (benchmarks/kes_bench/problems.py).

The benchmark's figures are only as good as these: a wrong denoiser or an unconverged reference would
rank schedules by our own error instead of theirs.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# benchmarks/ holds the command lines and their library, kes_bench; it is not installed.
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench import problems as qp  # noqa: E402

pytestmark = pytest.mark.bench

F64 = torch.float64


def mixture_1d(means, stds, weights) -> qp.Mixture:
    weights = np.asarray(weights, dtype=np.float64)
    return qp.Mixture("test-1d", torch.tensor(means, dtype=F64).reshape(-1, 1),
                      torch.tensor(stds, dtype=F64) ** 2, torch.from_numpy(np.log(weights / weights.sum())),
                      held_out=False, description="test")


def brute_force_posterior_mean(mixture: qp.Mixture, x: float, sigma: float) -> float:
    """E[x0 | x] by quadrature of prior density x Gaussian likelihood on a fine grid."""
    grid = torch.linspace(-6, 6, 40_001, dtype=F64).reshape(-1, 1)  # 100 points per narrowest posterior width
    log_prior = mixture.log_density(grid)
    log_likelihood = -0.5 * (x - grid[:, 0]) ** 2 / sigma ** 2
    weights = torch.softmax(log_prior + log_likelihood, dim=0)
    return float((weights * grid[:, 0]).sum())


@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 4.0])
@pytest.mark.parametrize("x", [-2.0, -0.4, 0.1, 1.7])
def test_mixture_denoiser_is_the_posterior_mean(x, sigma):
    """The closed-form denoiser equals E[x0 | x] computed by brute-force quadrature: the ODE error is
    measured against it, so it must be the exact one."""
    mixture = mixture_1d([-1.5, 0.2, 1.0], [0.1, 0.3, 0.05], [0.3, 0.5, 0.2])
    denoised = mixture.denoise(torch.tensor([[x]], dtype=F64), torch.tensor([sigma], dtype=F64))
    assert float(denoised) == pytest.approx(brute_force_posterior_mean(mixture, x, sigma), abs=1e-6)


def test_mixture_denoiser_limits():
    """No noise: nothing to remove; overwhelming noise: the data mean, wherever x is."""
    problem = qp.all_problems()[0]
    x = torch.randn(16, problem.dim, generator=torch.Generator().manual_seed(0), dtype=F64)
    # Almost no noise: nothing to remove.
    assert torch.allclose(problem.denoise(x, torch.tensor(1e-7, dtype=F64)), x, atol=1e-9)
    # Overwhelming noise: the best guess is the data mean, wherever x is.
    data_mean = problem.log_weights.exp() @ problem.means
    far = problem.denoise(x * 1e6, torch.tensor(1e8, dtype=F64))
    assert torch.allclose(far, data_mean.expand_as(far), atol=1e-6)


def test_data_set_denoiser_returns_the_nearest_point_for_tiny_sigma():
    """A data set is a mixture of zero-variance components: at tiny sigma it snaps to the nearest point,
    which the fine-detail score measures the distance to."""
    data_set = next(p for p in qp.all_problems() if p.is_data_set)
    generator = torch.Generator().manual_seed(1)
    picked = torch.randint(len(data_set.means), (32,), generator=generator)
    x = data_set.means[picked] + 0.003 * torch.randn(32, data_set.dim, generator=generator, dtype=F64)
    assert torch.equal(data_set.denoise(x, torch.tensor(1e-3, dtype=F64)), data_set.means[picked])


def test_log_density_integrates_to_one():
    """The LL-gap score uses this density: it must be normalized."""
    mixture = mixture_1d([-1.0, 0.5], [0.2, 0.04], [0.6, 0.4])
    grid = torch.linspace(-4, 4, 200_001, dtype=F64).reshape(-1, 1)
    assert float(torch.trapezoid(mixture.log_density(grid).exp(), grid[:, 0])) == pytest.approx(1.0, abs=1e-9)


def test_reference_ode_matches_the_closed_form_for_one_gaussian():
    """The reference ODE solver reproduces the known flow of a single Gaussian to 1e-9."""
    # For a single Gaussian N(mu, s^2) the flow is
    # x(sigma) - mu = (x_T - mu) sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma_T^2).
    mu, s, sigma_start = 0.7, 0.05, qp.SD_SIGMA_MAX
    gaussian = mixture_1d([mu], [s], [1.0])
    x_start = torch.tensor([[-20.0], [3.0], [14.0]], dtype=F64)
    solved = qp.solve_probability_flow(gaussian, x_start, sigma_start)
    expected = mu + (x_start - mu) * s / math.sqrt(s ** 2 + sigma_start ** 2)
    assert qp.rms(solved - expected) < 1e-9


def test_reference_ode_is_converged_on_a_benchmark_problem():
    """The reference moves by far less than the errors reported when its tolerances shrink 100-fold."""
    ring = next(p for p in qp.all_problems() if p.name == "ring-2d")
    noise = torch.randn(8, ring.dim, generator=torch.Generator().manual_seed(2), dtype=F64)
    change = qp.reference_convergence(ring, noise * qp.SD_SIGMA_MAX, qp.SD_SIGMA_MAX)
    assert change < 1e-8  # the errors the benchmark reports are 1e-5 and up


def test_clamped_denoisers_agree_with_the_exact_one_inside_the_trained_range_only():
    """The SD-like denoisers differ from the exact one exactly where a real model is blind: outside
    0.0292 to 14.6146."""
    problem = qp.all_problems()[0]
    x = torch.randn(8, problem.dim, generator=torch.Generator().manual_seed(3), dtype=F64)
    for clamp in (qp.sd_clamped, qp.x0_clamped):
        model = clamp(problem.denoise)
        for sigma, inside in ((0.5, True), (qp.SD_SIGMA_MAX, True), (0.005, False), (20.0, False)):
            sigmas = torch.full((8,), sigma, dtype=F64)
            same = torch.allclose(model(x * max(sigma, 1), sigmas), problem.denoise(x * max(sigma, 1), sigmas),
                                  atol=1e-12)
            assert same == inside, (clamp.__name__, sigma)


def test_problems_resemble_sd_latents_and_are_split():
    """Every problem has SD-latent-like scale and size, and both groups hold a mixture and a data set."""
    problems = qp.all_problems()
    for problem in problems:
        data = problem.sample(4000, torch.Generator().manual_seed(4))
        assert 0.6 < float(data.std(0).mean()) < 1.1, problem.name
        assert 2 <= problem.dim <= 64
    assert {p.held_out for p in problems} == {False, True}
    for held_out in (False, True):
        assert {p.is_data_set for p in problems if p.held_out == held_out} == {False, True}
