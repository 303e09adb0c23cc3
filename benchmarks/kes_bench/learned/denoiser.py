"""SD 1.x's noise schedule, the WebUI's wrapping of an epsilon model, and classifier-free guidance.

The WebUI samples an SD 1.x checkpoint through ``k_diffusion.external.CompVisDenoiser(model)``: the
model's ``alphas_cumprod`` (a float32 buffer made by the CompVis code from 1,000 "scaled linear" betas,
0.00085 to 0.012, computed in float64) fixes the discrete sigmas, and the wrapper maps every sigma a
sampler asks for to a fractional timestep, clamped to the model's range: 0.0292 to 14.6146. The digit
models carry the same buffer and expose the same ``apply_model(x, t, cond)``, so a schedule meets the
same limits here as in the WebUI.

Guidance as the WebUI's CFG denoiser does it: conditional and unconditional predictions in one batch,
then uncond + scale x (cond - uncond); at scale 1 only the conditional half is run.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from k_diffusion.external import CompVisDenoiser

from .network import NULL_CLASS, DigitUNet

TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012


def sd1_alphas_cumprod() -> torch.Tensor:
    """SD 1.x's alphas_cumprod as its checkpoint holds them: betas in float64, stored as float32."""
    betas = torch.linspace(BETA_START ** 0.5, BETA_END ** 0.5, TIMESTEPS, dtype=torch.float64) ** 2
    return torch.tensor(np.cumprod(1.0 - betas.numpy(), axis=0), dtype=torch.float32)


class DigitDiffusion(nn.Module):
    """A digit UNet dressed as a CompVis latent-diffusion model: ``alphas_cumprod`` and ``apply_model``."""

    def __init__(self, unet: DigitUNet):
        super().__init__()
        self.unet = unet
        self.register_buffer("alphas_cumprod", sd1_alphas_cumprod())

    def apply_model(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """eps for the noised (scaled) input x at the fractional timestep t, for the class labels cond."""
        return self.unet(x, t, cond)


def webui_wrapper(diffusion: DigitDiffusion) -> CompVisDenoiser:
    """The k-diffusion denoiser the WebUI would build for this model (quantization off, its default)."""
    return CompVisDenoiser(diffusion, quantize=False)


class GuidedDenoiser:
    """denoised = f(x, sigma) for a fixed batch of class labels at a CFG scale, as a k-diffusion model.

    Counts its calls to the wrapped model: ``calls`` is the sampler's NFE (one per step of the sampler,
    whatever the batching of the guidance).
    """

    def __init__(self, wrapper: CompVisDenoiser, labels: torch.Tensor, scale: float):
        self.wrapper = wrapper
        self.labels = labels
        self.scale = scale
        self.calls = 0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        x32, sigma32 = x.to(torch.float32), sigma.to(torch.float32)
        if self.scale == 1:
            return self.wrapper(x32, sigma32, cond=self.labels).to(x.dtype)
        null = torch.full_like(self.labels, NULL_CLASS)
        both = self.wrapper(torch.cat([x32, x32]), torch.cat([sigma32, sigma32]), cond=torch.cat([self.labels, null]))
        conditional, unconditional = both.chunk(2)
        return (unconditional + (conditional - unconditional) * self.scale).to(x.dtype)
