"""Iterative mixing in the WebUI's hires fix and img2img (A1111 1.9+, Forge), as plain logic.

Imports nothing from the WebUI; ``scripts/karras_exponential.py`` hands over what its hooks give.
``process_before_every_sampling`` runs before every pass, with the pass's latent (the upscaled latent of
the hires pass, the initial latent of img2img) and its noise. For those passes the sampler's function is
wrapped, on that one sampler instance, so that it runs under the core's mixing denoiser:
- the sampler starts from ``latent + noise * sigmas[0]``;
- the unsampled latents are ``latent + sigma_i * noise`` along the pass's own sigmas, on the same noise,
  so the first is exactly the sampler's start;
- at each step the sampler's latent becomes ``c1 z' + (1 - c1) z``.
An optional clean-up pass then samples the schedule's last part again. With ``iterative_mixing`` off,
nothing here acts.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from .. import mixing
from .webui_samplers import CFG_PP_SAMPLERS, function_name

# The CFG++ samplers this extension adds call the model as often per step as their plain forms.
CFG_PP_FUNCTIONS = {function_name(entry): mixing.CALLS_PER_STEP[entry.core_name] for entry in CFG_PP_SAMPLERS}


def unwrapped(owner: Any, name: str, keeper: str) -> Any:
    """``owner.name`` as it was before the first wrapping (kept on the owner as ``keeper``)."""
    if keeper not in vars(owner):
        setattr(owner, keeper, getattr(owner, name))
    return getattr(owner, keeper)


def has_image_pass(p: Any) -> bool:
    """Whether a generation has a pass that starts from an image: hires fix on, or img2img."""
    return bool(getattr(p, "enable_hr", False)) or hasattr(p, "init_images")


def is_second_pass(p: Any) -> bool:
    """A pass that starts from an image: the hires fix's second pass or img2img (not txt2img's first)."""
    return bool(getattr(p, "is_hr_pass", False)) or hasattr(p, "init_images")


def calls_per_step(sampler: Any) -> int:
    """Model calls per step of the WebUI sampler's function; ValueError naming the sampler otherwise."""
    function = sampler.func
    name = getattr(function, "__name__", "")
    if name in CFG_PP_FUNCTIONS:
        return CFG_PP_FUNCTIONS[name]
    label = getattr(getattr(sampler, "config", None), "name", name)
    if not name.startswith("sample_"):
        raise ValueError(f"iterative mixing does not work with the {label} sampler; use one that steps along the "
                         f"schedule (Euler, Euler a, Heun, LMS, DPM2, DPM++ 2M, DPM++ 2M SDE, DPM++ 3M SDE, "
                         f"DPM++ 2S a, DPM++ SDE, LCM, or a CFG++ sampler)")
    try:
        return mixing.calls_per_step(name[len("sample_"):])
    except ValueError:
        raise ValueError(f"iterative mixing does not work with the {label} sampler, which picks its own "
                         f"sigmas") from None


class IterativeMixingRun:
    """One generation's mixing settings; ``start_pass`` prepares each pass that starts from an image."""

    def __init__(self, config: Any, seed: int):
        self.schedule, self.alpha_1 = config.mixing_schedule, config.mixing_alpha_1
        self.stop_at_pct, self.normalize_fraction = config.mixing_stop_at_pct, config.mixing_normalize_fraction
        self.cleanup_denoise, self.seed = config.mixing_cleanup_denoise, seed
        self.full_sigmas: torch.Tensor | None = None

    def start_pass(self, sampler: Any, latent: torch.Tensor, noise: torch.Tensor) -> None:
        """Wrap this pass's sampler: its schedule is recorded, its function runs with the mixing.

        Forge announces its hires pass twice; the second call rewraps the sampler's own methods, not the
        wrappers, so the pass is mixed once.
        """
        get_sigmas = unwrapped(sampler, "get_sigmas", "_kes_mixing_get_sigmas")

        def recording_get_sigmas(p: Any, steps: int) -> torch.Tensor:
            self.full_sigmas = get_sigmas(p, steps)
            return self.full_sigmas

        sampler.get_sigmas = recording_get_sigmas
        sampler.func = self.mixing_function(sampler, unwrapped(sampler, "func", "_kes_mixing_func"), latent, noise)

    def mixing_function(self, sampler: Any, function: Any, latent: torch.Tensor, noise: torch.Tensor) -> Any:
        """``function`` with the mixing denoiser around the model; its signature stays the WebUI's to inspect."""
        @functools.wraps(function)
        def mixed(model, x, *args, **kwargs):
            per_step = calls_per_step(sampler)
            sigmas = kwargs.get("sigmas")
            if sigmas is None:
                raise ValueError("iterative mixing needs a sampler that takes the schedule's sigmas")
            unsampled = mixing.unsample(latent.to(x), sigmas.to(x), noise.to(x),
                                        normalize_fraction=self.normalize_fraction).flip(0)
            weights = mixing.blending_weights(len(sigmas) - 1, self.schedule, self.alpha_1, self.stop_at_pct)
            samples = function(mixing.MixingDenoiser(model, unsampled, weights, sigmas, per_step), x, *args, **kwargs)
            return self.clean_up(function, model, samples, args, kwargs)

        return mixed

    def clean_up(self, function: Any, model: Any, samples: torch.Tensor, args: tuple, kwargs: dict) -> torch.Tensor:
        """The schedule's last ``cleanup_denoise`` share sampled again from the mixed result (0: as it is)."""
        schedule = self.full_sigmas if self.full_sigmas is not None else kwargs["sigmas"]
        steps = round((len(schedule) - 1) * self.cleanup_denoise)
        if steps < 1:
            return samples
        tail = schedule[-(steps + 1):].to(samples)
        generator = torch.Generator().manual_seed(self.seed + 1)
        fresh = torch.randn(samples.shape, generator=generator, dtype=samples.dtype).to(samples.device)
        return function(model, samples + fresh * tail[0], *args, **{**kwargs, "sigmas": tail})
