"""The guidance core: CFG++ samplers against k-diffusion's own and against hand-written steps, and True
Noise Removal's formula, its limits and its model calls."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from k_diffusion import sampling

from simple_kes import guidance
from simple_kes.schedule import get_sigmas_karras

SIGMAS = get_sigmas_karras(8, 0.0292, 14.6146).double()


def gaussian_denoiser(mean: float, variance: float = 0.25):
    """The exact denoiser of Gaussian data N(mean, variance) at noise level sigma."""
    def denoise(x, sigma, **_):
        sigma = sigma.reshape(-1, 1)
        return mean + (x - mean) * variance / (variance + sigma ** 2)
    return denoise


class Guided:
    """D_cfg from a conditional and an unconditional denoiser, keeping D_u of the last call (the WebUI's
    ``last_noise_uncond``)."""

    def __init__(self, cond, uncond, weight):
        self.cond, self.uncond, self.weight, self.last_uncond = cond, uncond, weight, None

    def __call__(self, x, sigma, **extra):
        self.last_uncond = self.uncond(x, sigma)
        return guidance.cfg(self.cond(x, sigma), self.last_uncond, self.weight)


def start(seed=0, batch=6):
    return torch.randn(batch, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * SIGMAS[0]


def seeded_noise(seed):
    generator = torch.Generator().manual_seed(seed)
    return lambda sigma, sigma_next: torch.randn(6, 3, generator=generator, dtype=torch.float64)


@pytest.mark.parametrize("name, plain", [("euler", sampling.sample_euler), ("dpmpp_2m", sampling.sample_dpmpp_2m)])
def test_with_no_guidance_each_cfg_pp_sampler_is_k_diffusions_own(name, plain):
    """D_u == D_cfg: CFG++ changes nothing, so the k-diffusion sampler's result must come out."""
    model = Guided(gaussian_denoiser(0.5), gaussian_denoiser(0.5), 0.7)
    ours = guidance.CFG_PP_SAMPLERS[name](model, start(), SIGMAS, uncond_denoised=lambda: model.last_uncond)
    assert torch.allclose(ours, plain(model, start(), SIGMAS, disable=True), rtol=1e-12, atol=1e-12)


def test_with_no_guidance_euler_ancestral_cfg_pp_is_k_diffusions_with_the_same_noise():
    model = Guided(gaussian_denoiser(0.5), gaussian_denoiser(0.5), 0.7)
    ours = guidance.sample_euler_ancestral_cfg_pp(model, start(), SIGMAS, uncond_denoised=lambda: model.last_uncond,
                                                  noise_sampler=seeded_noise(3))
    plain = sampling.sample_euler_ancestral(model, start(), SIGMAS, noise_sampler=seeded_noise(3), disable=True)
    assert torch.allclose(ours, plain, rtol=1e-12, atol=1e-12)


def test_euler_cfg_pp_steps_from_the_guided_image_along_the_unconditional_noise():
    """Two steps by hand: x1 = D_cfg(x0) + sigma_1 * (x0 - D_u(x0)) / sigma_0, and so on."""
    cond, uncond = gaussian_denoiser(1.0), gaussian_denoiser(-1.0)
    model = Guided(cond, uncond, 0.6)
    sigmas = SIGMAS[[0, 3, 6]]
    x0 = start()
    s0, s1 = sigmas[0].reshape(1), sigmas[1].reshape(1)
    x1 = guidance.cfg(cond(x0, s0), uncond(x0, s0), 0.6) + sigmas[1] * (x0 - uncond(x0, s0)) / sigmas[0]
    x2 = guidance.cfg(cond(x1, s1), uncond(x1, s1), 0.6) + sigmas[2] * (x1 - uncond(x1, s1)) / sigmas[1]
    ours = guidance.sample_euler_cfg_pp(model, x0, sigmas, uncond_denoised=lambda: model.last_uncond)
    assert torch.allclose(ours, x2, rtol=1e-12)


def test_dpmpp_2m_cfg_pp_second_step_adds_the_correction_from_the_previous_unconditional():
    cond, uncond = gaussian_denoiser(1.0), gaussian_denoiser(-1.0)
    model = Guided(cond, uncond, 0.6)
    sigmas = torch.cat([SIGMAS[[0, 2, 4]], SIGMAS.new_zeros(1)])
    x0 = start()
    guided = lambda x, s: guidance.cfg(cond(x, s.reshape(1)), uncond(x, s.reshape(1)), 0.6)  # noqa: E731
    h0, h1 = (math.log(sigmas[i] / sigmas[i + 1]) for i in (0, 1))
    x1 = guided(x0, sigmas[0]) + math.exp(-h0) * (x0 - uncond(x0, sigmas[0].reshape(1)))
    r = h0 / h1
    x2 = (guided(x1, sigmas[1]) + math.exp(-h1) * (x1 - uncond(x1, sigmas[1].reshape(1)))
          + (1 - math.exp(-h1)) / (2 * r) * (guided(x1, sigmas[1]) - uncond(x0, sigmas[0].reshape(1))))
    x3 = guided(x2, sigmas[2])  # the step to 0 returns the guided prediction
    ours = guidance.sample_dpmpp_2m_cfg_pp(model, x0, sigmas, uncond_denoised=lambda: model.last_uncond)
    assert torch.allclose(ours, x3, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(sigma_next=st.floats(0.0, 100.0), larger=st.floats(0.0, 100.0))
def test_the_true_noise_weight_falls_from_2_to_exactly_1_at_sigma_0(sigma_next, larger):
    weight = guidance.true_noise_weight(torch.tensor(sigma_next, dtype=torch.float64))
    assert 1.0 <= float(weight) < 2.0
    assert float(guidance.true_noise_weight(torch.tensor(sigma_next + larger, dtype=torch.float64))) >= float(weight)
    assert float(guidance.true_noise_weight(torch.tensor(0.0))) == 1.0


def test_tnr_with_one_prediction_pushes_away_from_the_true_noise():
    """eps~ = n + S (eps - n): the noise itself where the model predicts it, S times the gap otherwise."""
    x, noise = start(1), torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    sigma, sigma_next = SIGMAS[2], SIGMAS[3]
    at_noise = guidance.true_noise_removal(x, sigma, sigma_next, x - sigma * noise, noise)
    assert torch.allclose(at_noise, x - sigma * noise)
    eps = torch.ones_like(x)
    weight = float(guidance.true_noise_weight(sigma_next))
    tilde = (x - guidance.true_noise_removal(x, sigma, sigma_next, x - sigma * eps, noise)) / sigma
    assert torch.allclose(tilde, noise + weight * (eps - noise))


def test_tnr_with_two_predictions_is_cfg_at_the_last_step_and_scales_its_push_before():
    x, noise = start(1), torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    sigma = SIGMAS[2]
    cond, uncond = gaussian_denoiser(1.0)(x, sigma.reshape(1)), gaussian_denoiser(-1.0)(x, sigma.reshape(1))
    last = guidance.true_noise_removal(x, sigma, 0.0, cond, noise, denoised_uncond=uncond, scale=5.0)
    assert torch.allclose(last, guidance.cfg(cond, uncond, 5.0))
    sigma_next = SIGMAS[3]
    weight = float(guidance.true_noise_weight(sigma_next))
    ours = guidance.true_noise_removal(x, sigma, sigma_next, cond, noise, denoised_uncond=uncond, scale=5.0)
    eps_cfg = (x - guidance.cfg(cond, uncond, 5.0)) / sigma
    assert torch.allclose((x - ours) / sigma, weight * eps_cfg + (1 - weight) * noise)


def test_next_sigma_is_the_end_of_the_step_each_call_lies_in():
    assert float(guidance.next_sigma(SIGMAS, SIGMAS[0])) == float(SIGMAS[1])
    assert float(guidance.next_sigma(SIGMAS, (SIGMAS[2] + SIGMAS[3]) / 2)) == float(SIGMAS[3])
    assert float(guidance.next_sigma(SIGMAS, SIGMAS[-2])) == 0.0


class Counting:
    def __init__(self, denoiser):
        self.denoiser, self.calls = denoiser, 0

    def __call__(self, x, sigma, **extra):
        self.calls += 1
        return self.denoiser(x, sigma)


@pytest.mark.parametrize("two_predictions", [False, True])
def test_single_prediction_tnr_never_calls_the_unconditional_model(two_predictions):
    cond, uncond = Counting(gaussian_denoiser(1.0)), Counting(gaussian_denoiser(-1.0))
    noise = torch.randn(6, 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    model = guidance.TrueNoiseRemovalDenoiser(cond, noise, SIGMAS, uncond=uncond if two_predictions else None,
                                              scale=3.0)
    result = sampling.sample_euler(model, noise * SIGMAS[0], SIGMAS, disable=True)
    assert bool(torch.isfinite(result).all())
    assert cond.calls == len(SIGMAS) - 1
    assert uncond.calls == (len(SIGMAS) - 1 if two_predictions else 0)
