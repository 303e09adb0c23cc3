"""Stand-in for modules/sd_samplers_cfg_denoiser.py: the CFG denoiser every k-diffusion sampler calls.

As in A1111 1.10: the conditional and unconditional predictions are made in one batch (conditional
first); with ``need_last_noise_uncond`` set, the unconditional output of the call is kept in
``last_noise_uncond``; the CFG scale is multiplied by ``cond_scale_miltiplier`` (sic) before combining.
"""

import torch


class CFGDenoiser:
    def __init__(self, sampler):
        self.sampler = sampler
        self.model_wrap = None
        self.step = 0
        self.p = None
        self.need_last_noise_uncond = False
        self.last_noise_uncond = None
        self.cond_scale_miltiplier = 1.0
        self.calls = 0

    def __call__(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        self.calls += 1
        batch = x.shape[0]
        x_in, sigma_in = torch.cat([x, x]), torch.cat([sigma, sigma])
        x_out = self.inner_model(x_in, sigma_in, cond=torch.cat([cond, uncond]))
        if self.need_last_noise_uncond:
            self.last_noise_uncond = torch.clone(x_out[-batch:])
        denoised_cond, denoised_uncond = x_out[:batch], x_out[-batch:]
        self.step += 1
        return denoised_uncond + (denoised_cond - denoised_uncond) * (cond_scale * self.cond_scale_miltiplier)
