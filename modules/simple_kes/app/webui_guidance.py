"""True Noise Removal in the WebUI (A1111 1.9+, Forge), as plain logic over the WebUI's public hooks.

Imports nothing from the WebUI; ``scripts/karras_exponential.py`` feeds it what the hooks give:
- ``process_before_every_sampling`` (each pass: txt2img, hires, img2img) hands over the pass's true noise,
  the unit-variance tensor the sampler's start was made from, and the sampler, whose schedule is
  recorded as it asks for it;
- ``on_cfg_denoiser`` says where each model call is (x and sigma; the WebUI's batch puts the image
  rows last);
- ``on_cfg_after_cfg`` hands over the combined prediction, which TNR replaces: with two predictions the
  WebUI's CFG combination is TNR's base term, with one the conditional prediction is (the WebUI skips
  the unconditional pass when its *Skip Early CFG* option covers every step, which ``tnr_single`` sets
  for the generation).
With ``cfg`` (the default) nothing here acts.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import guidance
from .webui_mixing import unwrapped

CFG, TNR, TNR_SINGLE = "cfg", "tnr", "tnr_single"
# The WebUI option that skips the unconditional pass for the first part of the steps (A1111 1.10, Forge);
# 1 covers every step.
SKIP_EARLY_CFG_OPTION = "skip_early_cond"
SKIP_EARLY_CFG_INFOTEXT = "Skip Early CFG"


class TrueNoiseRemovalRun:
    """One generation with TNR: the true noise and schedule of the pass in progress, and the current call."""

    def __init__(self, mode: str):
        if mode not in (TNR, TNR_SINGLE):
            raise ValueError(f"guidance {mode!r} is not True Noise Removal")
        self.mode = mode
        self.noise: torch.Tensor | None = None
        self.sigmas: torch.Tensor | None = None
        self.x: torch.Tensor | None = None
        self.sigma: torch.Tensor | None = None

    def start_pass(self, noise: torch.Tensor, sampler: Any) -> None:
        """A new sampling pass: its true noise, and the schedule its sampler asks for from now on.

        The sampler's ``get_sigmas`` is wrapped on this instance only (each pass has a new sampler): the
        WebUI computes the schedule inside its sampling call, and TNR needs each step's end.
        """
        self.noise, self.sigmas, self.x, self.sigma = noise, None, None, None
        get_sigmas = unwrapped(sampler, "get_sigmas", "_kes_tnr_get_sigmas")  # Forge announces hires twice

        def recording_get_sigmas(p: Any, steps: int) -> torch.Tensor:
            self.sigmas = get_sigmas(p, steps)
            return self.sigmas

        sampler.get_sigmas = recording_get_sigmas

    def before_call(self, x_in: torch.Tensor, sigma_in: torch.Tensor) -> None:
        """Where the model is called: the image rows are the batch's last ones."""
        batch = self.noise.shape[0] if self.noise is not None else x_in.shape[0]
        self.x, self.sigma = x_in[-batch:], sigma_in[-batch:]

    def guided(self, denoised: torch.Tensor) -> torch.Tensor:
        """TNR's prediction in place of the WebUI's combined one (unchanged until a pass has started)."""
        if self.noise is None or self.sigmas is None or self.x is None:
            return denoised
        sigma_next = guidance.next_sigma(self.sigmas.to(self.sigma.device), self.sigma[0])
        noise = self.noise.to(device=denoised.device, dtype=denoised.dtype)
        return guidance.true_noise_removal(self.x.to(denoised.dtype), self.sigma.to(denoised.dtype), sigma_next,
                                           denoised, noise)
