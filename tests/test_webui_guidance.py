"""True Noise Removal as a guidance choice in the WebUI stand-in: nothing changes by default; tnr and
tnr_single sample as the core's TNR denoiser does over the same schedule and true noise; tnr_single
really skips the unconditional pass; the choice is validated, recorded, pasted and an X/Y/Z axis."""

from __future__ import annotations

import pytest
import torch
from k_diffusion import sampling

import simple_kes
from simple_kes import guidance
from simple_kes.app.webui_options import SCHEDULER_LABEL

STEPS, SEED, SCALE = 10, 11, 5.0


def expected_samples(mode: str | None, sigmas: torch.Tensor) -> torch.Tensor:
    """Euler with the stand-in's model (exact for N(cond, 0.25); cond 1, uncond 0) and the chosen guidance."""
    from modules.sd_samplers_kdiffusion import GaussianModel
    model = GaussianModel()

    def cond(x, sigma):
        return model(x, sigma, torch.ones(1, 4))

    def uncond(x, sigma):
        return model(x, sigma, torch.zeros(1, 4))

    noise = torch.randn((1, 4), generator=torch.Generator().manual_seed(SEED))
    if mode is None:
        def denoiser(x, sigma):
            return guidance.cfg(cond(x, sigma), uncond(x, sigma), SCALE)
    else:
        denoiser = guidance.TrueNoiseRemovalDenoiser(cond, noise, sigmas, uncond=uncond if mode == "tnr" else None,
                                                     scale=SCALE)
    return sampling.sample_euler(denoiser, noise * sigmas[0], sigmas, disable=True)


def generate(webui, scheduler="Karras", **fields):
    p, _ = webui.txt2img(sampler_name="Euler", scheduler=scheduler, steps=STEPS, cfg_scale=SCALE, seed=SEED, **fields)
    return p


def karras_sigmas():
    return sampling.get_sigmas_karras(STEPS, 0.0292, 14.6146)


def test_by_default_the_webuis_cfg_is_untouched(webui):
    p = generate(webui)
    assert torch.allclose(p.samples, expected_samples(None, karras_sigmas()), rtol=1e-5, atol=1e-6)
    assert "KES guidance" not in p.infotext and p.sampler.model_wrap_cfg.rows == 2 * STEPS


@pytest.mark.parametrize("mode", ["tnr", "tnr_single"])
def test_tnr_samples_as_the_core_denoiser_does_with_any_schedule_type(webui, mode):
    p = generate(webui, override_settings={"kes_guidance": mode})
    assert torch.allclose(p.samples, expected_samples(mode, karras_sigmas()), rtol=1e-5, atol=1e-6)
    assert p.extra_generation_params["KES guidance"] == mode and "KES sharpness" not in p.extra_generation_params
    kes = generate(webui, scheduler=SCHEDULER_LABEL, override_settings={"kes_guidance": mode})
    kes_sigmas = simple_kes.sigmas_for_config(STEPS, 0.0292, 14.6146, simple_kes.KesConfig())[0]
    assert torch.allclose(kes.samples, expected_samples(mode, kes_sigmas), rtol=1e-5, atol=1e-6)


def test_tnr_single_skips_the_unconditional_pass_and_leaves_the_users_option_as_it_was(webui):
    webui.shared.opts.data["skip_early_cond"] = 0.25
    single = generate(webui, override_settings={"kes_guidance": "tnr_single"})
    assert single.sampler.model_wrap_cfg.rows == STEPS, "one model row per step: no unconditional pass"
    assert "Skip Early CFG" not in single.infotext and "KES guidance: tnr_single" in single.infotext
    assert webui.shared.opts.data["skip_early_cond"] == 0.25
    two = generate(webui, override_settings={"kes_guidance": "tnr"})
    assert two.sampler.model_wrap_cfg.rows > STEPS


def test_the_yaml_choice_applies_and_a_pasted_infotext_without_it_asks_for_cfg(webui, kes_file):
    from load_events import reloaded, wait_for
    from simple_kes.app import default_config
    results = reloaded(default_config.default_manager())
    kes_file.write_text(kes_file.read_text().replace("guidance: cfg", "guidance: tnr"))
    wait_for(results, lambda result: result.changed)
    p = generate(webui)
    assert torch.allclose(p.samples, expected_samples("tnr", karras_sigmas()), rtol=1e-5, atol=1e-6)
    pasted = webui.paste("Steps: 10, Sampler: Euler, Schedule type: Karras, Seed: 11")
    assert pasted["override_settings"]["kes_guidance"] == "cfg", "the image was made with the WebUI's CFG"
    pasted = webui.paste(p.infotext)
    assert pasted["params"]["KES guidance"] == "tnr"
    assert "kes_guidance" not in pasted["override_settings"], "the setting in force already says tnr"


def test_a_bad_choice_refuses_the_generation_whatever_its_schedule_type(webui):
    with pytest.raises(simple_kes.ConfigError, match="guidance: 'magic' is not allowed; allowed: one of cfg, tnr, "
                                                     "tnr_single"):
        generate(webui, override_settings={"kes_guidance": "magic"})


def test_the_xyz_axis_offers_the_choices_and_refuses_others(webui):
    axis = next(o for o in webui.xyz.axis_options if o.label == "KES guidance")
    assert axis.type is str and axis.choices() == ["cfg", "tnr", "tnr_single"]
    axis.confirm(None, ["cfg", "tnr_single"])
    with pytest.raises(ValueError, match="KES guidance: 'classic' is not allowed"):
        axis.confirm(None, ["cfg", "classic"])
