"""ComfyUI before 0.3.11 (April 2024 to 0.3.10): a fixed name list and an if-chain over it."""

import torch

from .k_diffusion import sampling as k_diffusion_sampling

SCHEDULER_NAMES = ["normal", "karras", "exponential", "simple"]


def calculate_sigmas(model_sampling, scheduler_name, steps):
    if scheduler_name == "karras":
        sigmas = k_diffusion_sampling.get_sigmas_karras(n=steps, sigma_min=float(model_sampling.sigma_min),
                                                        sigma_max=float(model_sampling.sigma_max))
    elif scheduler_name == "exponential":
        sigmas = k_diffusion_sampling.get_sigmas_exponential(n=steps, sigma_min=float(model_sampling.sigma_min),
                                                             sigma_max=float(model_sampling.sigma_max))
    elif scheduler_name in ("normal", "simple"):
        sigmas = torch.linspace(float(model_sampling.sigma_max), float(model_sampling.sigma_min), steps)
        sigmas = torch.cat([sigmas, sigmas.new_zeros([1])])
    else:
        print("error invalid scheduler {}".format(scheduler_name))
    return sigmas


class KSampler:
    SCHEDULERS = SCHEDULER_NAMES

    def __init__(self, model, steps, device, sampler=None, scheduler=None, denoise=None, model_options={}):
        self.model = model
        self.scheduler = scheduler if scheduler in self.SCHEDULERS else self.SCHEDULERS[0]
        self.sigmas = calculate_sigmas(model.get_model_object("model_sampling"), self.scheduler, steps)
