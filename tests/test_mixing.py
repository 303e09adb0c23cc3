"""Iterative mixing's core: unsampling, the blending schedules, and the mixing inside real k-diffusion
samplers against hand-written loops that mix before each step."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from k_diffusion import sampling

from simple_kes import mixing

SIGMAS = sampling.get_sigmas_karras(8, 0.0292, 14.6146).double()


def gaussian_denoiser(x, sigma, **_):
    """Exact for data N(0.3, 0.25): what a model with a known answer predicts."""
    sigma = sigma.reshape(-1, *([1] * (x.ndim - 1)))
    return 0.3 + (x - 0.3) * 0.25 / (0.25 + sigma ** 2)


def tensor(seed, shape=(2, 3, 4, 4)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


LATENT, NOISE = tensor(1), tensor(2)


def test_unsampling_gives_one_copy_per_sigma_least_noisy_first_on_one_noise():
    copies = mixing.unsample(LATENT, SIGMAS, NOISE)
    assert copies.shape == (len(SIGMAS), *LATENT.shape)
    assert torch.equal(copies[0], LATENT), "the last sigma is 0: the latent itself"
    for k, sigma in enumerate(SIGMAS.flip(0)):
        assert torch.allclose(copies[k], LATENT + sigma * NOISE)
    part = mixing.unsample(LATENT, SIGMAS, NOISE, start_at_step=2, end_at_step=5)
    assert len(part) == 4 and torch.allclose(part[-1], LATENT + SIGMAS[2] * NOISE)
    assert torch.allclose(part[0], LATENT + SIGMAS[5] * NOISE)


@settings(max_examples=30, deadline=None)
@given(fraction=st.floats(0.05, 1.0))
def test_normalizing_removes_the_per_channel_bias_of_the_noisiest_share(fraction):
    biased = LATENT + torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64).reshape(1, 3, 1, 1)
    copies = mixing.unsample(biased, SIGMAS, NOISE, normalize_fraction=fraction)
    count = math.ceil(fraction * len(copies))
    means = copies[-count:].mean(dim=(0, 1, 3, 4))
    assert torch.allclose(means, torch.zeros(3, dtype=torch.float64), atol=1e-9)
    raw = mixing.unsample(biased, SIGMAS, NOISE)
    assert torch.allclose(raw - copies, (raw - copies)[:1].expand_as(raw)), "one shift for every copy"


@pytest.mark.parametrize("arguments, message", [
    ({"start_at_step": 5, "end_at_step": 2}, "start_at_step 5 and end_at_step 2 must satisfy"),
    ({"end_at_step": 9}, "end_at_step <= steps \\(8\\)"),
    ({"normalize_fraction": 1.5}, "normalize_fraction 1.5 is out of range; allowed: 0 to 1"),
])
def test_unsampling_refuses_ranges_outside_the_schedule(arguments, message):
    with pytest.raises(ValueError, match=message):
        mixing.unsample(LATENT, SIGMAS, NOISE, **arguments)


def test_cosine_blending_runs_from_all_unsampled_to_none_and_alpha_1_shortens_it():
    weights = mixing.blending_weights(10, "cosine", alpha_1=1.0)
    assert weights[0] == 1.0 and weights[-1] == pytest.approx(0.0, abs=1e-15)
    assert all(a >= b for a, b in zip(weights, weights[1:]))
    assert weights[3] == pytest.approx((1 + math.cos(math.pi * 3 / 9)) / 2)
    stronger = mixing.blending_weights(10, "cosine", alpha_1=3.0)
    assert all(s <= w for s, w in zip(stronger, weights)), "a larger alpha_1 mixes in less, as in DemoFusion"


def test_stop_blending_at_pct_ends_the_mixing_early_or_stretches_it_past_the_last_step():
    early = mixing.blending_weights(11, "linear", stop_blending_at_pct=0.5)
    assert early[:6] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2, 0.0]) and early[6:] == [0.0] * 5
    stretched = mixing.blending_weights(11, "cosine", stop_blending_at_pct=2.0)
    assert stretched[-1] == pytest.approx(0.5) and min(stretched) > 0


def test_logistic_blending_falls_through_its_midpoint():
    weights = mixing.blending_weights(11, "logistic", alpha_1=1.0)
    assert weights[5] == pytest.approx(0.5) and weights[0] > 0.9 and weights[-1] < 0.1
    assert all(a > b for a, b in zip(weights, weights[1:]))


@pytest.mark.parametrize("arguments, message", [
    ({"schedule": "sine"}, "blending_schedule 'sine' is not one of cosine, linear, logistic"),
    ({"alpha_1": 0.0}, "alpha_1 0 is out of range; allowed: a number > 0"),
    ({"stop_blending_at_pct": -0.5}, "stop_blending_at_pct -0.5 is out of range"),
])
def test_blending_refuses_bad_values(arguments, message):
    with pytest.raises(ValueError, match=message):
        mixing.blending_weights(10, **arguments)


def unsampled_noisiest_first():
    return mixing.unsample(LATENT, SIGMAS, NOISE).flip(0)


def start_latent():
    return tensor(3) * SIGMAS[0]


def test_euler_with_mixing_is_the_hand_written_loop():
    weights = mixing.blending_weights(8, "cosine", alpha_1=0.7)
    unsampled = unsampled_noisiest_first()
    x = start_latent()
    for i in range(8):
        x = weights[i] * unsampled[i] + (1 - weights[i]) * x
        denoised = gaussian_denoiser(x, SIGMAS[i].reshape(1))
        x = x + (x - denoised) / SIGMAS[i] * (SIGMAS[i + 1] - SIGMAS[i])
    model = mixing.MixingDenoiser(gaussian_denoiser, unsampled, weights, SIGMAS)
    ours = sampling.sample_euler(model, start_latent(), SIGMAS, disable=True)
    assert torch.allclose(ours, x, rtol=1e-12, atol=1e-12)


def test_heun_mixes_once_per_step_not_at_its_second_call():
    weights = mixing.blending_weights(8, "linear")
    unsampled = unsampled_noisiest_first()
    x = start_latent()
    for i in range(8):
        x = weights[i] * unsampled[i] + (1 - weights[i]) * x
        d = (x - gaussian_denoiser(x, SIGMAS[i].reshape(1))) / SIGMAS[i]
        dt = SIGMAS[i + 1] - SIGMAS[i]
        if SIGMAS[i + 1] == 0:
            x = x + d * dt
            continue
        x_2 = x + d * dt
        d_2 = (x_2 - gaussian_denoiser(x_2, SIGMAS[i + 1].reshape(1))) / SIGMAS[i + 1]
        x = x + (d + d_2) / 2 * dt
    model = mixing.MixingDenoiser(gaussian_denoiser, unsampled, weights, SIGMAS, mixing.calls_per_step("heun"))
    ours = sampling.sample_heun(model, start_latent(), SIGMAS, disable=True)
    assert torch.allclose(ours, x, rtol=1e-12, atol=1e-12)


def test_a_multistep_sampler_keeps_its_history_through_the_mixing():
    """DPM++ 2M mixed at each step equals the loop that mixes and then takes DPM++ 2M's step."""
    weights = mixing.blending_weights(8, "cosine", alpha_1=2.0)
    unsampled = unsampled_noisiest_first()
    x, previous = start_latent(), None
    for i in range(8):
        x = weights[i] * unsampled[i] + (1 - weights[i]) * x
        denoised = gaussian_denoiser(x, SIGMAS[i].reshape(1))
        t, t_next = -SIGMAS[i].log(), -SIGMAS[i + 1].log()
        h = t_next - t
        if previous is None or SIGMAS[i + 1] == 0:
            x = (SIGMAS[i + 1] / SIGMAS[i]) * x - (-h).expm1() * denoised
        else:
            r = (t - (-SIGMAS[i - 1].log())) / h
            x = (SIGMAS[i + 1] / SIGMAS[i]) * x - (-h).expm1() * ((1 + 1 / (2 * r)) * denoised - previous / (2 * r))
        previous = denoised
    model = mixing.MixingDenoiser(gaussian_denoiser, unsampled, weights, SIGMAS)
    ours = sampling.sample_dpmpp_2m(model, start_latent(), SIGMAS, disable=True)
    assert torch.allclose(ours, x, rtol=1e-10, atol=1e-10)


def test_no_weight_no_change_and_a_miscounted_sampler_is_caught():
    model = mixing.MixingDenoiser(gaussian_denoiser, unsampled_noisiest_first(), [0.0] * 8, SIGMAS)
    plain = sampling.sample_euler(gaussian_denoiser, start_latent(), SIGMAS, disable=True)
    assert torch.equal(sampling.sample_euler(model, start_latent(), SIGMAS, disable=True), plain)
    miscounted = mixing.MixingDenoiser(gaussian_denoiser, unsampled_noisiest_first(), [0.5] * 8, SIGMAS, 1)
    with pytest.raises(ValueError, match=r"expected the sampler's step \d at sigma .* does not call the model 1 "):
        sampling.sample_heun(miscounted, start_latent(), SIGMAS, disable=True)
    with pytest.raises(ValueError, match="sampler 'dpm_fast' does not work with iterative mixing; supported: "):
        mixing.calls_per_step("dpm_fast")


def test_the_mixing_denoiser_passes_on_what_samplers_read_and_write_on_their_model():
    """ComfyUI's samplers read model.inner_model through the denoiser they get; the WebUI's CFG++ samplers
    set need_last_noise_uncond on it."""
    class Wrapped:
        inner_model = "the model's sampling"

        def __call__(self, x, sigma, **extra):
            return gaussian_denoiser(x, sigma)

    wrapped = Wrapped()
    model = mixing.MixingDenoiser(wrapped, unsampled_noisiest_first(), [0.5] * 8, SIGMAS)
    assert model.inner_model == "the model's sampling"
    with pytest.raises(AttributeError):
        model.not_there
    model.need_last_noise_uncond = True  # what a WebUI CFG++ sampler asks of the CFG denoiser it is given
    assert wrapped.need_last_noise_uncond is True and "need_last_noise_uncond" not in vars(model)
