"""ComfyUI 0.3.11 and newer: the scheduler registry, the list every scheduler dropdown shows, KSampler."""

from typing import Callable, NamedTuple

import torch

from .k_diffusion import sampling as k_diffusion_sampling


def simple_scheduler(model_sampling, steps):
    """Evenly spaced over the model's discrete sigmas, from the top; a final 0."""
    sigmas = model_sampling.sigmas
    stride = len(sigmas) / steps
    chosen = [float(sigmas[-(1 + int(step * stride))]) for step in range(steps)]
    return torch.FloatTensor(chosen + [0.0])


class SchedulerHandler(NamedTuple):
    handler: Callable[..., torch.Tensor]
    # True: handler(model_sampling, steps); False: handler(n=, sigma_min=, sigma_max=) (k-diffusion style)
    use_ms: bool = True


def _comfyui_only(*args, **kwargs):
    raise NotImplementedError("ComfyUI's own schedule: not in the stand-in")


# ComfyUI 0.3.64's names, in its order; the pack never replaces these, so the stand-in need not run them.
SCHEDULER_HANDLERS = {
    "simple": SchedulerHandler(simple_scheduler),
    "sgm_uniform": SchedulerHandler(_comfyui_only),
    "karras": SchedulerHandler(k_diffusion_sampling.get_sigmas_karras, use_ms=False),
    "exponential": SchedulerHandler(k_diffusion_sampling.get_sigmas_exponential, use_ms=False),
    "ddim_uniform": SchedulerHandler(_comfyui_only),
    "beta": SchedulerHandler(_comfyui_only),
    "normal": SchedulerHandler(_comfyui_only),
    "linear_quadratic": SchedulerHandler(_comfyui_only),
    "kl_optimal": SchedulerHandler(_comfyui_only, use_ms=False),
}
SCHEDULER_NAMES = list(SCHEDULER_HANDLERS)


def calculate_sigmas(model_sampling, scheduler_name, steps):
    handler = SCHEDULER_HANDLERS.get(scheduler_name)
    if handler is None:
        raise ValueError(f"error invalid scheduler {scheduler_name}")
    if handler.use_ms:
        return handler.handler(model_sampling, steps)
    return handler.handler(n=steps, sigma_min=float(model_sampling.sigma_min),
                           sigma_max=float(model_sampling.sigma_max))


SAMPLER_NAMES = ["euler", "euler_ancestral", "heun", "dpmpp_2m", "dpm_fast"]


class KSAMPLER:
    """A SAMPLER object: a k-diffusion style sampler function and its options."""

    def __init__(self, sampler_function, extra_options={}, inpaint_options={}):
        self.sampler_function = sampler_function
        self.extra_options = extra_options
        self.inpaint_options = inpaint_options


class KSampler:
    SCHEDULERS = SCHEDULER_NAMES  # the same list object
    SAMPLERS = SAMPLER_NAMES

    def __init__(self, model, steps, device, sampler=None, scheduler=None, denoise=None, model_options={}):
        self.model = model
        self.device = device
        if scheduler not in self.SCHEDULERS:
            scheduler = self.SCHEDULERS[0]
        if sampler not in self.SAMPLERS:
            sampler = self.SAMPLERS[0]
        self.scheduler = scheduler
        self.sampler = sampler
        self.set_steps(steps, denoise)
        self.denoise = denoise

    def calculate_sigmas(self, steps):
        return calculate_sigmas(self.model.get_model_object("model_sampling"), self.scheduler, steps)

    def set_steps(self, steps, denoise=None):
        self.steps = steps
        if denoise is None or denoise > 0.9999:
            self.sigmas = self.calculate_sigmas(steps).to(self.device)
        elif denoise <= 0.0:
            self.sigmas = torch.FloatTensor([])
        else:
            new_steps = int(steps / denoise)
            self.sigmas = self.calculate_sigmas(new_steps).to(self.device)[-(steps + 1):]

    def sample(self, denoiser, noise):
        """Euler from the first sigma down the schedule, whichever sampler was asked for."""
        return k_diffusion_sampling.sample_euler(denoiser, noise * self.sigmas[0], self.sigmas, disable=True)
