"""Stand-in for modules/sd_samplers_kdiffusion.py (A1111 1.10): the k-diffusion sampler list and the
KDiffusionSampler that calls a sampler function, by name in k_diffusion.sampling or as a callable.

``sample`` mirrors the real one: sigmas from the schedule, x = noise * sigmas[0], then the function
called with the CFG denoiser, ``extra_args`` (cond, uncond, cond_scale, ...) and whichever of n,
sigma_min/sigma_max, sigmas and eta its signature takes. The model is exact for Gaussian data whose
mean is the conditioning (unconditional: 0), with SD 1.x's discrete sigmas.
"""

import inspect

import k_diffusion.sampling
import torch

from modules import sd_samplers_cfg_denoiser, sd_samplers_common
from modules.processing import MODEL_SIGMA_MAX, MODEL_SIGMA_MIN

samplers_k_diffusion = [
    ("DPM++ 2M", "sample_dpmpp_2m", ["k_dpmpp_2m"], {"scheduler": "karras"}),
    ("Euler a", "sample_euler_ancestral", ["k_euler_a", "k_euler_ancestral"], {"uses_ensd": True}),
    ("Euler", "sample_euler", ["k_euler"], {}),
]


class GaussianModel:
    """Exact denoiser of N(cond, 0.25): what a conditional model with a known answer predicts."""

    def __init__(self):
        betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1 - betas, 0)
        self.sigmas = ((1 - alphas_cumprod) / alphas_cumprod).sqrt().float()

    def __call__(self, x, sigma, cond):
        sigma = sigma.reshape(-1, *([1] * (x.ndim - 1)))
        return cond + (x - cond) * 0.25 / (0.25 + sigma ** 2)

    def get_sigmas(self, n):
        """The model's own schedule: n sigmas evenly spaced in timestep, then 0."""
        timesteps = torch.linspace(len(self.sigmas) - 1, 0, n)
        log_sigmas = self.sigmas.log()
        low = timesteps.floor().long()
        high = (low + 1).clamp(max=len(self.sigmas) - 1)
        weight = timesteps - low
        sigmas = ((1 - weight) * log_sigmas[low] + weight * log_sigmas[high]).exp()
        return torch.cat([sigmas, sigmas.new_zeros(1)])


class CFGDenoiserKDiffusion(sd_samplers_cfg_denoiser.CFGDenoiser):
    @property
    def inner_model(self):
        if self.model_wrap is None:
            self.model_wrap = GaussianModel()
        return self.model_wrap


class KDiffusionSampler(sd_samplers_common.Sampler):
    def __init__(self, funcname, sd_model, options=None):
        super().__init__(funcname)
        self.options = options or {}
        self.func = funcname if callable(funcname) else getattr(k_diffusion.sampling, self.funcname)
        self.model_wrap_cfg = CFGDenoiserKDiffusion(self)
        self.model_wrap = self.model_wrap_cfg.inner_model

    def get_sigmas(self, p, steps):
        from modules import processing
        scheduler_name = (p.hr_scheduler if p.is_hr_pass else p.scheduler) or "Automatic"
        if scheduler_name == "Automatic" and self.config.options.get("scheduler"):
            p = _with_scheduler(p, self.config.options["scheduler"])
        sigmas = processing.get_sigmas(p, steps)
        return self.model_wrap.get_sigmas(steps) if sigmas is None else sigmas

    def sample(self, p, x, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps = steps or p.steps
        sigmas = self.get_sigmas(p, steps)
        x = x * sigmas[0]
        extra_params_kwargs = self.initialize(p)
        self.model_wrap_cfg.total_steps = len(sigmas) - 1
        parameters = inspect.signature(self.func).parameters
        if "n" in parameters:
            extra_params_kwargs["n"] = steps
        if "sigma_min" in parameters:
            extra_params_kwargs["sigma_min"] = MODEL_SIGMA_MIN
            extra_params_kwargs["sigma_max"] = MODEL_SIGMA_MAX
        if "sigmas" in parameters:
            extra_params_kwargs["sigmas"] = sigmas
        self.sampler_extra_args = {"cond": conditioning, "image_cond": image_conditioning,
                                   "uncond": unconditional_conditioning, "cond_scale": p.cfg_scale,
                                   "s_min_uncond": self.s_min_uncond}
        return self.func(self.model_wrap_cfg, x, extra_args=self.sampler_extra_args, disable=False,
                         callback=self.callback_state, **extra_params_kwargs)


    def sample_img2img(self, p, x, noise, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        """As the WebUI's: the schedule for steps / denoising strength, its last part from x + noise * sigma."""
        requested = steps or p.steps
        steps = int(requested / min(p.denoising_strength, 0.999)) if p.denoising_strength > 0 else 0
        t_enc = requested - 1
        sigmas = self.get_sigmas(p, steps)
        sigma_sched = sigmas[steps - t_enc - 1:]
        xi = x + noise * sigma_sched[0]
        extra_params_kwargs = self.initialize(p)
        self.model_wrap_cfg.total_steps = len(sigma_sched) - 1
        if "sigmas" in inspect.signature(self.func).parameters:
            extra_params_kwargs["sigmas"] = sigma_sched
        self.model_wrap_cfg.init_latent = x
        self.sampler_extra_args = {"cond": conditioning, "image_cond": image_conditioning,
                                   "uncond": unconditional_conditioning, "cond_scale": p.cfg_scale,
                                   "s_min_uncond": self.s_min_uncond}
        return self.func(self.model_wrap_cfg, xi, extra_args=self.sampler_extra_args, disable=False,
                         callback=self.callback_state, **extra_params_kwargs)


def _with_scheduler(p, scheduler):
    import copy
    chosen = copy.copy(p)
    chosen.scheduler = scheduler
    return chosen


samplers_data_k_diffusion = [
    sd_samplers_common.SamplerData(label, lambda model, funcname=funcname: KDiffusionSampler(funcname, model),
                                   aliases, options)
    for label, funcname, aliases, options in samplers_k_diffusion
    if callable(funcname) or hasattr(k_diffusion.sampling, funcname)
]
