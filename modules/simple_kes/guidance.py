"""Guidance from the seed documents as pure functions over tensors: CFG, CFG++ samplers, True Noise Removal.

Everything works in k-diffusion's terms: a denoiser ``D(x, sigma)`` predicts the clean image, and a
discrete epsilon model's noise prediction is ``eps = (x - D) / sigma``. Imports only torch and
k-diffusion (or ComfyUI's copy of it, ``kdiffusion.py``).

- **CFG** (Ho and Salimans 2022): ``D_u + scale * (D_c - D_u)``.
- **CFG++** (Chung et al. 2024, arXiv 2406.08070): the guided prediction ``D_cfg`` with a guidance weight
  ``lambda`` in [0, 1] for the clean image, and the *unconditional* prediction ``D_u`` for the noise that
  is put back. The samplers below follow the k-diffusion forms of its update rules for Euler, Euler
  ancestral and DPM++ 2M (``../shared/seed-systems-notes.md``, section 2); with ``D_u == D_cfg`` each one is
  k-diffusion's own sampler, step for step.
- **True Noise Removal** (autumnmnmn/diffusion-notebook, ``autumn/guidance.py`` ``true_noise_removal`` at
  ce4c281; section 3 of the notes): the base of the guidance is the true noise ``n`` the sample started
  from, not an unconditional prediction, weighted by the noise schedule at the end of the step.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from .kdiffusion import sampling

Denoiser = Callable[..., torch.Tensor]


def cfg(denoised_cond: torch.Tensor, denoised_uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: the unconditional prediction moved ``scale`` times towards the conditional."""
    return denoised_uncond + scale * (denoised_cond - denoised_uncond)


# --- CFG++ samplers -----------------------------------------------------------------------------------
# Each takes, besides k-diffusion's sampler arguments, ``uncond_denoised``: a function that returns the
# unconditional prediction D_u of the model's most recent call (the WebUI's CFG denoiser keeps it as
# ``last_noise_uncond``; the benchmark's guided denoiser keeps it too). ``model`` returns D_cfg made
# with the CFG++ weight lambda.

@torch.no_grad()
def sample_euler_ancestral_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, *,
                                  uncond_denoised: Callable[[], torch.Tensor], extra_args: dict | None = None,
                                  callback: Callable | None = None, disable: bool | None = None, eta: float = 1.0,
                                  s_noise: float = 1.0, noise_sampler: Callable | None = None) -> torch.Tensor:
    """Euler ancestral with CFG++: ``x <- D_cfg + sigma_down * (x - D_u) / sigma + sigma_up * z``.

    The clean-image estimate is the guided one; the direction that the step keeps (the noise) is the
    unconditional one. ``eta=0`` is plain Euler with CFG++. The last step, to sigma 0, returns D_cfg.
    """
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = sampling.default_noise_sampler(x) if noise_sampler is None else noise_sampler
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        uncond = uncond_denoised()
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        sigma_down, sigma_up = sampling.get_ancestral_step(sigmas[i], sigmas[i + 1], eta=eta)
        x = denoised + (x - uncond) / sigmas[i] * sigma_down
        if sigma_up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


@torch.no_grad()
def sample_euler_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, *,
                        uncond_denoised: Callable[[], torch.Tensor], extra_args: dict | None = None,
                        callback: Callable | None = None, disable: bool | None = None) -> torch.Tensor:
    """Euler with CFG++: ``x <- D_cfg + sigma_next * (x - D_u) / sigma`` (the ancestral form with eta 0)."""
    return sample_euler_ancestral_cfg_pp(model, x, sigmas, uncond_denoised=uncond_denoised, extra_args=extra_args,
                                         callback=callback, disable=disable, eta=0.0)


@torch.no_grad()
def sample_dpmpp_2m_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, *,
                           uncond_denoised: Callable[[], torch.Tensor], extra_args: dict | None = None,
                           callback: Callable | None = None, disable: bool | None = None) -> torch.Tensor:
    """DPM++ 2M with CFG++, with ``h = log(sigma / sigma_next)`` and ``r = h_prev / h``:

    ``x <- D_cfg + e^-h (x - D_u) + (1 - e^-h) / (2r) * (D_cfg - D_u,prev)``; the first step and the step to
    sigma 0 leave out the last term (as DPM++ 2M leaves out its second-order term there).
    """
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    previous_uncond, previous_h = None, None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        uncond = uncond_denoised()
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        if sigmas[i + 1] == 0:
            x = denoised
            continue
        h = math.log(float(sigmas[i]) / float(sigmas[i + 1]))
        decay = math.exp(-h)
        x = denoised + decay * (x - uncond)
        if previous_uncond is not None:
            r = previous_h / h
            x = x + (1 - decay) / (2 * r) * (denoised - previous_uncond)
        previous_uncond, previous_h = uncond, h
    return x


CFG_PP_SAMPLERS = {
    "euler": sample_euler_cfg_pp,
    "euler_ancestral": sample_euler_ancestral_cfg_pp,
    "dpmpp_2m": sample_dpmpp_2m_cfg_pp,
}


# --- True Noise Removal ---------------------------------------------------------------------------------

def alpha_bar(sigma: Any) -> Any:
    """The signal fraction of a discrete epsilon model at noise level sigma: 1 / (1 + sigma^2)."""
    return 1.0 / (1.0 + sigma ** 2)


def true_noise_weight(sigma_next: Any) -> Any:
    """S = 2 - alpha_bar(sigma_next) ** (1/4): how far TNR's guided noise is pushed from the true noise.

    The notebook's ``sqrt(sqrt_signal)`` at the end of the step: S is about 2 at high noise and falls to
    exactly 1 at sigma 0, where TNR becomes its base prediction.
    """
    return 2.0 - alpha_bar(sigma_next) ** 0.25


def true_noise_removal(x: torch.Tensor, sigma: Any, sigma_next: Any, denoised_cond: torch.Tensor,
                       true_noise: torch.Tensor, *, denoised_uncond: torch.Tensor | None = None,
                       scale: float = 1.0) -> torch.Tensor:
    """The denoised prediction of True Noise Removal for a step from ``sigma`` to ``sigma_next``.

    In noise terms, with ``eps = (x - D) / sigma`` and ``S = true_noise_weight(sigma_next)``:
    - one prediction: ``eps~ = n + S * (eps_c - n)``;
    - two predictions: the notebook's barycentric form with relative scales ``(scale, 1 - scale)``,
      ``B + D = eps_u + scale * (eps_c - eps_u)`` (CFG's own combination), and
      ``eps~ = S * (B + D) + (1 - S) * n``.
    Returned as the denoiser output ``x - sigma * eps~``, so any k-diffusion sampler can take the step.
    """
    sigma = _as_batch(sigma, x)
    eps_cond = (x - denoised_cond) / sigma
    if denoised_uncond is None:
        guided = eps_cond
    else:
        eps_uncond = (x - denoised_uncond) / sigma
        guided = cfg(eps_cond, eps_uncond, scale)
    weight = _as_batch(true_noise_weight(torch.as_tensor(sigma_next, dtype=x.dtype, device=x.device)), x)
    eps_tilde = weight * guided + (1 - weight) * true_noise
    return x - sigma * eps_tilde


def _as_batch(value: Any, like: torch.Tensor) -> torch.Tensor:
    """A scalar or per-sample value shaped to broadcast over ``like``'s batch."""
    value = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if value.ndim == 0:
        return value
    return value.reshape(-1, *([1] * (like.ndim - 1)))


def next_sigma(sigmas: torch.Tensor, sigma: Any) -> torch.Tensor:
    """The end of the step that starts at ``sigma``: the schedule's first sigma below it (0 at the end).

    Samplers that call the model more than once per step (Heun, DPM++ 2S) also call it at a sigma
    between or at the schedule's entries; each call is given the end of the step it lies in.
    """
    sigma = float(torch.as_tensor(sigma).flatten()[0])
    below = sigmas[sigmas < sigma * (1 - 1e-6)]
    return below[0] if len(below) else sigmas.new_zeros(())


class TrueNoiseRemovalDenoiser:
    """A k-diffusion denoiser that guides with True Noise Removal.

    ``cond`` and ``uncond`` are denoisers ``(x, sigma) -> D``. Without ``uncond`` (the single-prediction
    mode) the unconditional model is never called: one model call per evaluation instead of two.
    ``true_noise`` is the unit-variance noise the sample started from (``x_T = n * sigmas[0]``).
    """

    def __init__(self, cond: Denoiser, true_noise: torch.Tensor, sigmas: torch.Tensor, *,
                 uncond: Denoiser | None = None, scale: float = 1.0):
        self.cond, self.uncond = cond, uncond
        self.true_noise, self.sigmas, self.scale = true_noise, sigmas, scale

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args: Any) -> torch.Tensor:
        denoised_cond = self.cond(x, sigma, **extra_args)
        denoised_uncond = None if self.uncond is None else self.uncond(x, sigma, **extra_args)
        return true_noise_removal(x, sigma, next_sigma(self.sigmas, sigma), denoised_cond, self.true_noise,
                                  denoised_uncond=denoised_uncond, scale=self.scale)
