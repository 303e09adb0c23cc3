"""The CFG++ samplers in the WebUI stand-in: registered once beside the WebUI's own, sampling through the
WebUI's CFG denoiser exactly as the core's CFG++ samplers do at weight = CFG scale / 12.5, with any
schedule type, and refusing a scale out of range."""

from __future__ import annotations

import pytest
import torch

import simple_kes
from simple_kes import guidance
from simple_kes.app import webui_samplers
from simple_kes.app.webui_options import SCHEDULER_LABEL

LABELS = [entry.label for entry in webui_samplers.CFG_PP_SAMPLERS]


def test_the_cfg_pp_samplers_join_the_dropdown_once_across_reloads(webui):
    from fastapi import FastAPI
    from modules import sd_samplers
    for _ in range(2):
        webui.reload_ui(FastAPI())
    names = [data.name for data in sd_samplers.all_samplers]
    assert [names.count(label) for label in LABELS] == [1, 1, 1]
    assert set(LABELS) <= set(sd_samplers.visible_sampler_names())
    assert names[:3] == ["DPM++ 2M", "Euler a", "Euler"], "the WebUI's own samplers keep their places"
    assert sd_samplers.samplers_map["euler_cfg_pp"] == "Euler CFG++"
    assert sd_samplers.samplers_map["dpm++ 2m cfg++"] == "DPM++ 2M CFG++"
    assert webui.errors.reported == []


def test_a_webui_that_has_its_own_cfg_pp_sampler_keeps_it(kes_file):
    """reForge ships "Euler CFG++" itself: ours is not added beside it; the others are."""
    from webui_harness import WebUI, fresh_stub_modules
    fresh_stub_modules()
    from modules import sd_samplers, sd_samplers_common
    theirs = sd_samplers_common.SamplerData("Euler CFG++", lambda model: None, ["euler_cfg_pp"], {})
    sd_samplers.all_samplers.append(theirs)
    instance = WebUI()
    instance.start()
    try:
        matching = [data for data in sd_samplers.all_samplers if data.name == "Euler CFG++"]
        assert matching == [theirs]
        assert {"Euler a CFG++", "DPM++ 2M CFG++"} <= {data.name for data in sd_samplers.all_samplers}
    finally:
        instance.shutdown()


class StandInGuided:
    """The stand-in's model with CFG at weight ``weight``, keeping D_u: what the WebUI's denoiser does."""

    def __init__(self, weight):
        from modules.sd_samplers_kdiffusion import GaussianModel
        self.model, self.weight, self.last_uncond = GaussianModel(), weight, None

    def __call__(self, x, sigma):
        self.last_uncond = self.model(x, sigma, torch.zeros(1, 4))
        return guidance.cfg(self.model(x, sigma, torch.ones(1, 4)), self.last_uncond, self.weight)


@pytest.mark.parametrize("label, core_name", [("Euler CFG++", "euler"), ("DPM++ 2M CFG++", "dpmpp_2m")])
def test_a_txt2img_with_karras_exponential_samples_as_the_core_does_at_scale_over_12_5(webui, label, core_name):
    p, _ = webui.txt2img(sampler_name=label, scheduler=SCHEDULER_LABEL, steps=12, cfg_scale=7.0, seed=5)
    sigmas = simple_kes.sigmas_for_config(12, 0.0292, 14.6146, simple_kes.KesConfig())[0]
    noise = torch.randn((1, 4), generator=torch.Generator().manual_seed(5))
    model = StandInGuided(7.0 / 12.5)
    expected = guidance.CFG_PP_SAMPLERS[core_name](model, noise * sigmas[0], sigmas,
                                                   uncond_denoised=lambda: model.last_uncond)
    assert torch.allclose(p.samples, expected, rtol=1e-5, atol=1e-6)
    assert p.extra_generation_params["Schedule type"] == SCHEDULER_LABEL
    plain, _ = webui.txt2img(sampler_name=label.replace(" CFG++", ""), scheduler=SCHEDULER_LABEL, steps=12,
                             cfg_scale=7.0, seed=5)
    assert not torch.allclose(plain.samples, p.samples), "CFG++ is not the plain sampler"


def test_euler_a_cfg_pp_takes_the_webuis_eta(webui):
    """The WebUI passes its eta to a sampler function that takes one; eta 0 is Euler CFG++."""
    still, _ = webui.txt2img(sampler_name="Euler a CFG++", scheduler="Karras", steps=10, cfg_scale=6.0, seed=3, eta=0.0)
    euler, _ = webui.txt2img(sampler_name="Euler CFG++", scheduler="Karras", steps=10, cfg_scale=6.0, seed=3)
    assert torch.allclose(still.samples, euler.samples, rtol=1e-6), "eta 0 is plain Euler CFG++"
    assert still.extra_generation_params["Eta"] == 0.0


def test_forges_denoiser_form_gives_the_same_samples(webui, monkeypatch):
    """Forge keeps the unconditional *noise* in last_noise_uncond (its CFG denoiser has
    classic_ddim_eps_estimation): read back as a denoised image, the samples are A1111's."""
    from modules import sd_samplers_kdiffusion
    a1111, _ = webui.txt2img(sampler_name="DPM++ 2M CFG++", scheduler="Karras", steps=10, cfg_scale=7.0, seed=9)

    class ForgeForm(sd_samplers_kdiffusion.CFGDenoiserKDiffusion):
        classic_ddim_eps_estimation = False

        def __call__(self, x, sigma, **extra_args):
            denoised = super().__call__(x, sigma, **extra_args)
            if self.need_last_noise_uncond:
                self.last_noise_uncond = (x - self.last_noise_uncond) / sigma.reshape(-1, 1)
            return denoised

    monkeypatch.setattr(sd_samplers_kdiffusion, "CFGDenoiserKDiffusion", ForgeForm)
    forge, _ = webui.txt2img(sampler_name="DPM++ 2M CFG++", scheduler="Karras", steps=10, cfg_scale=7.0, seed=9)
    assert isinstance(forge.sampler.model_wrap_cfg, ForgeForm)
    assert torch.allclose(forge.samples, a1111.samples, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scale", [25.5, 30.0, -1.0])
def test_a_cfg_scale_out_of_range_is_refused_with_the_range(webui, scale):
    with pytest.raises(ValueError, match=rf"CFG Scale {scale:g} is out of range for the CFG\+\+ samplers; "
                                         r"allowed: 0 to 25 \(the CFG\+\+ weight is the scale / 12.5"):
        webui.txt2img(sampler_name="Euler CFG++", scheduler="Karras", steps=6, cfg_scale=scale)


def test_a_weight_of_exactly_1_still_asks_for_the_unconditional_prediction():
    """Forge (and ComfyUI) skip the unconditional pass at a scale of exactly 1."""
    args = webui_samplers.weighted_extra_args({"cond_scale": 12.5, "cond": "c"})
    assert args["cond_scale"] != 1.0 and args["cond_scale"] == pytest.approx(1.0, abs=1e-5) and args["cond"] == "c"
    assert webui_samplers.weighted_extra_args({"cond_scale": 6.25})["cond_scale"] == 0.5


def test_forges_hires_scale_holds_the_weight_during_the_pass_only():
    """Forge's CFG denoiser reads the hires pass's scale from p.hr_cfg, past the sampler's arguments."""
    class P:
        is_hr_pass, hr_cfg = True, 7.0

    class Denoiser:
        p = P()

    with webui_samplers.hires_weight(Denoiser()):
        assert Denoiser.p.hr_cfg == pytest.approx(0.56)
    assert Denoiser.p.hr_cfg == 7.0
    Denoiser.p.is_hr_pass = False
    with webui_samplers.hires_weight(Denoiser()):
        assert Denoiser.p.hr_cfg == 7.0, "the first pass keeps it"
