"""An SD 1.x model's sampling object: discrete sigmas from the scaled-linear betas, and their ends."""

import torch


class ModelSamplingDiscrete(torch.nn.Module):
    def __init__(self, timesteps=1000, linear_start=0.00085, linear_end=0.012):
        super().__init__()
        betas = torch.linspace(linear_start ** 0.5, linear_end ** 0.5, timesteps, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.register_buffer("sigmas", sigmas.float())
        self.register_buffer("log_sigmas", sigmas.log().float())

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]
