"""Iterative mixing in the WebUI stand-in's hires fix: off by default and then untouched, on it is the
hand-written Euler loop that mixes the unsampled latent in before each step, the first pass is never
mixed, the clean-up pass, refused samplers, and the keys' infotext, paste and X/Y/Z axes."""

from __future__ import annotations

import types

import pytest
import torch
from k_diffusion import sampling

from simple_kes import guidance, mixing
from simple_kes.app import webui_mixing

STEPS, HIRES_STEPS, SEED, SCALE, STRENGTH = 8, 6, 21, 5.0, 0.5
MIXING = {"kes_iterative_mixing": True, "kes_mixing_schedule": "linear", "kes_mixing_stop_at_pct": 0.8}


def cfg_model():
    from modules.sd_samplers_kdiffusion import GaussianModel
    model = GaussianModel()
    return lambda x, sigma: guidance.cfg(model(x, sigma, torch.ones(1, 4)), model(x, sigma, torch.zeros(1, 4)), SCALE)


def hires_schedule():
    """The hires pass's sigmas as the WebUI's img2img takes them: steps / strength, the last part."""
    steps = int(HIRES_STEPS / STRENGTH)
    sigmas = sampling.get_sigmas_karras(steps, 0.0292, 14.6146)
    return sigmas[steps - (HIRES_STEPS - 1) - 1:]


def expected_hires(first_pass, weights=None, cleanup=0.0):
    """Euler from latent + noise * sigma_0, mixing latent + sigma_i * noise in before step i."""
    model, sigmas = cfg_model(), hires_schedule()
    noise = torch.randn((1, 4), generator=torch.Generator().manual_seed(SEED + 1))
    x = first_pass + noise * sigmas[0]
    for i in range(len(sigmas) - 1):
        if weights is not None:
            x = weights[i] * (first_pass + sigmas[i] * noise) + (1 - weights[i]) * x
        x = x + (x - model(x, sigmas[i].reshape(1))) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    if cleanup:
        full = sampling.get_sigmas_karras(int(HIRES_STEPS / STRENGTH), 0.0292, 14.6146)
        tail = full[-(round((len(full) - 1) * cleanup) + 1):]
        fresh = torch.randn((1, 4), generator=torch.Generator().manual_seed(SEED + 1))
        x = sampling.sample_euler(model, x + fresh * tail[0], tail, disable=True)
    return x


def generate(webui, enable_hr=True, **settings):
    p, _ = webui.txt2img(sampler_name="Euler", scheduler="Karras", hr_scheduler="Karras", steps=STEPS,
                         cfg_scale=SCALE, seed=SEED, enable_hr=enable_hr, hr_second_pass_steps=HIRES_STEPS,
                         denoising_strength=STRENGTH, override_settings=settings)
    return p


def first_pass(webui):
    return generate(webui, enable_hr=False).samples


def test_off_by_default_the_hires_pass_is_the_webuis_own(webui):
    p = generate(webui)
    assert torch.allclose(p.samples, expected_hires(first_pass(webui)), rtol=1e-5, atol=1e-6)
    assert not [key for key in p.extra_generation_params if "mixing" in key]


def test_on_the_hires_pass_mixes_the_unsampled_latent_in_before_each_step(webui):
    p = generate(webui, **MIXING)
    weights = mixing.blending_weights(HIRES_STEPS, "linear", 1.0, 0.8)
    assert torch.allclose(p.samples, expected_hires(first_pass(webui), weights), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(p.samples, expected_hires(first_pass(webui)), rtol=1e-3)
    assert p.extra_generation_params["KES iterative mixing"] is True
    assert p.extra_generation_params["KES mixing schedule"] == "linear"


def test_the_first_pass_of_txt2img_is_never_mixed_nor_recorded_as_mixed(webui):
    mixed = generate(webui, enable_hr=False, **MIXING)
    assert torch.equal(mixed.samples, first_pass(webui))
    assert not [key for key in mixed.extra_generation_params if "mixing" in key]


def test_the_clean_up_pass_samples_the_schedules_tail_again(webui):
    p = generate(webui, **MIXING, kes_mixing_cleanup_denoise=0.25)
    weights = mixing.blending_weights(HIRES_STEPS, "linear", 1.0, 0.8)
    expected = expected_hires(first_pass(webui), weights, cleanup=0.25)
    assert torch.allclose(p.samples, expected, rtol=1e-5, atol=1e-6)


def test_a_pasted_infotext_restores_the_mixing_and_one_without_it_turns_it_off(webui, kes_file):
    p = generate(webui, **MIXING)
    pasted = webui.paste(p.infotext)
    assert pasted["override_settings"]["kes_iterative_mixing"] in (True, "True")
    assert pasted["override_settings"]["kes_mixing_schedule"] == "linear"
    axis_labels = {option.label for option in webui.xyz.axis_options}
    assert {"KES iterative mixing", "KES mixing alpha 1", "KES mixing schedule"} <= axis_labels


def fake_sampler(function_name, label):
    function = types.FunctionType((lambda model, x, sigmas: x).__code__, {}, function_name)
    return types.SimpleNamespace(func=function, config=types.SimpleNamespace(name=label))


@pytest.mark.parametrize("name, label, message", [
    ("sample_dpm_fast", "DPM fast", "does not work with the DPM fast sampler, which picks its own sigmas"),
    ("restart_sampler", "Restart", "does not work with the Restart sampler; use one that steps along the schedule"),
])
def test_samplers_that_do_not_step_along_the_schedule_are_refused_by_name(name, label, message):
    with pytest.raises(ValueError, match=message):
        webui_mixing.calls_per_step(fake_sampler(name, label))
    assert webui_mixing.calls_per_step(fake_sampler("sample_heun", "Heun")) == 2
    assert webui_mixing.calls_per_step(fake_sampler("sample_dpmpp_2m_cfg_pp", "DPM++ 2M CFG++")) == 1


def test_img2img_and_the_hires_pass_start_from_an_image():
    assert webui_mixing.is_second_pass(types.SimpleNamespace(is_hr_pass=True))
    assert webui_mixing.is_second_pass(types.SimpleNamespace(init_images=[None], is_hr_pass=False))
    assert not webui_mixing.is_second_pass(types.SimpleNamespace(is_hr_pass=False))


def test_forge_announcing_the_hires_pass_twice_still_mixes_once(webui, monkeypatch):
    once = generate(webui, **MIXING).samples
    monkeypatch.setattr(webui.processing, "HIRES_ANNOUNCEMENTS", 2)
    assert torch.equal(generate(webui, **MIXING).samples, once)


def test_mixing_tnr_and_a_cfg_pp_sampler_work_together(webui):
    """The CFG++ sampler asks the denoiser it is given (the mixing one) to keep the unconditional prediction."""
    p, _ = webui.txt2img(sampler_name="DPM++ 2M CFG++", scheduler="Karras", hr_scheduler="Karras", steps=STEPS,
                         cfg_scale=SCALE, seed=SEED, enable_hr=True, hr_second_pass_steps=HIRES_STEPS,
                         denoising_strength=STRENGTH, override_settings={**MIXING, "kes_guidance": "tnr"})
    assert bool(torch.isfinite(p.samples).all())
    assert p.sampler.model_wrap_cfg.need_last_noise_uncond is True
