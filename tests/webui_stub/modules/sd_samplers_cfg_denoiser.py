"""Stand-in for modules/sd_samplers_cfg_denoiser.py: the CFG denoiser every k-diffusion sampler calls.

As in A1111 1.10: the ``cfg_denoiser`` callbacks see the batch first; the conditional and unconditional
predictions are made in one batch (conditional first), except that the *Skip Early CFG* option skips the
unconditional rows for that share of the steps (the conditional prediction then stands in for it and
the scale is 1); with ``need_last_noise_uncond`` set, the unconditional output of the call is kept in
``last_noise_uncond``; the CFG scale is multiplied by ``cond_scale_miltiplier`` (sic) before combining;
the ``cfg_after_cfg`` callbacks may replace the result. ``rows`` counts the rows the model evaluated.
"""

import torch

from modules import script_callbacks, shared


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
        self.rows = 0
        self.total_steps = 1

    def __call__(self, x, sigma, uncond, cond, cond_scale, s_min_uncond, image_cond):
        self.calls += 1
        batch = x.shape[0]
        params = script_callbacks.CFGDenoiserParams(torch.cat([x, x]), image_cond, torch.cat([sigma, sigma]),
                                                    self.step, self.total_steps, cond, uncond, self)
        script_callbacks.cfg_denoiser_callback(params)
        x_in, sigma_in = params.x, params.sigma
        skip_early_cond = getattr(shared.opts, "skip_early_cond", 0.0) or 0.0
        skip_uncond = skip_early_cond != 0 and self.step / self.total_steps <= skip_early_cond
        if skip_uncond:
            self.p.extra_generation_params["Skip Early CFG"] = skip_early_cond
            x_in, sigma_in, conds = x_in[:-batch], sigma_in[:-batch], cond
        else:
            conds = torch.cat([cond, uncond])
        x_out = self.inner_model(x_in, sigma_in, cond=conds)
        self.rows += x_in.shape[0]
        if skip_uncond:
            x_out = torch.cat([x_out, x_out[:batch]])  # the conditional prediction where the unconditional was
        if self.need_last_noise_uncond:
            self.last_noise_uncond = torch.clone(x_out[-batch:])
        denoised_cond, denoised_uncond = x_out[:batch], x_out[-batch:]
        scale = 1.0 if skip_uncond else cond_scale * self.cond_scale_miltiplier
        denoised = denoised_uncond + (denoised_cond - denoised_uncond) * scale
        after = script_callbacks.AfterCFGCallbackParams(denoised, self.step, self.total_steps)
        script_callbacks.cfg_after_cfg_callback(after)
        self.step += 1
        return after.x
