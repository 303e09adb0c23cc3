"""The schedules the benchmarks compare, each as n -> the n + 1 float32 sigmas a user would get.

All over SD 1.x's range 0.0292 to 14.6146:
- KES defaults (the `faithful` preset: the original release's sigmas), every other preset as
  "KES <name>" (shipped ones and the user's own in configs/presets/), and "KES blend only" (step size
  and noise scale 1, sharpness 1, sigma_max_factor kept at its default 1.1). KES is computed with
  the public, never-cached ``simple_kes.compute_sigmas``, so timing it measures the computation.
- Karras rho 7 (the baseline of every ratio), Exponential, Polyexponential at A1111's default rho 1
  (the Exponential schedule up to float rounding: here because the WebUI lists it).
- KL Optimal: n sigmas evenly spaced in arctan(sigma), then 0 (A1111's own variant ends at
  sigma_min without the final 0; we append it so every schedule ends alike).
- Align Your Steps for SD 1.5: the published timesteps turned into sigmas by SD 1.5's discrete
  schedule, interpolated log-linearly to n sigmas as A1111 does, then 0.
- The schedules of the guides that the WebUI lacks (issue 16, docs/schedules.md), from the core's
  ``simple_kes.named_schedules`` over SD 1.x's range: GITS, AYS 32 SD1.5, AYS SVD, Linear-Quadratic,
  DDPM Linear, DDPM Quadratic and iDDPM Cosine.
- Beta (only in the learned benchmark, which came after it joined the WebUI): A1111 1.10's Beta
  schedule at its default alpha = beta = 0.6 ("Beta Sampling is All You Need", Lee et al. 2024): the
  Beta(0.6, 0.6) quantiles of n evenly spaced fractions from 1 to 0, mapped linearly onto
  sigma_min..sigma_max, then 0. Needs SciPy.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

import simple_kes
from simple_kes import named_schedules
from simple_kes.app import presets
from simple_kes.schedule import SHAPE_DEFAULTS, get_sigmas_exponential, get_sigmas_karras  # quiets k-diffusion

from k_diffusion import sampling  # noqa: E402  (after simple_kes.schedule, which silences its import warnings)

from .problems import SD_SIGMA_MAX, SD_SIGMA_MIN

Schedule = Callable[[int], torch.Tensor]

BASELINE = "Karras rho 7"
KES_DEFAULTS = "KES defaults"
KES_BLEND_ONLY = "KES blend only"
EXPONENTIAL = "Exponential"
POLYEXPONENTIAL = "Polyexponential"
KES_PREFIX = "KES "
BLEND_ONLY_SHAPE = dict(initial_step_size=1.0, final_step_size=1.0, step_size_factor=1.0, initial_noise_scale=1.0,
                        final_noise_scale=1.0, noise_scale_factor=1.0, sharpness=1.0)
# The preset that is the defaults; it is compared as "KES defaults".
DEFAULTS_PRESET = "faithful"

# The schedules of the guides added by issue 16: the benchmarks' name -> the core's.
GUIDE_SCHEDULES = {"GITS": "gits", "AYS 32 SD1.5": "align_your_steps_32_sd15", "AYS SVD": "align_your_steps_svd",
                   "Linear-Quadratic": "linear_quadratic", "DDPM Linear": "ddpm_linear",
                   "DDPM Quadratic": "ddpm_quadratic", "iDDPM Cosine": "iddpm_cosine"}

# Align Your Steps, SD 1.5 (NVIDIA's published 10-step list, as timesteps of the 1000-step DDPM).
AYS_SD15_TIMESTEPS = (999, 850, 736, 645, 545, 455, 343, 233, 124, 24, 0)


def sd15_discrete_sigmas() -> np.ndarray:
    """Sigma of each of SD 1.5's 1000 timesteps: the 'scaled linear' betas from 0.00085 to 0.012."""
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    alphas_cumprod = np.cumprod(1 - betas)
    return np.sqrt((1 - alphas_cumprod) / alphas_cumprod)


AYS_SD15_SIGMAS = sd15_discrete_sigmas()[list(AYS_SD15_TIMESTEPS)]


def align_your_steps_sd15(n: int) -> torch.Tensor:
    """The AYS list resampled to n sigmas, linear in log sigma over the step fraction, then 0."""
    known_fractions = np.linspace(0, 1, len(AYS_SD15_SIGMAS))
    log_sigmas = np.interp(np.linspace(0, 1, n), known_fractions, np.log(AYS_SD15_SIGMAS))
    return torch.tensor(np.append(np.exp(log_sigmas), 0.0), dtype=torch.float32)


def kl_optimal(n: int, sigma_min: float = SD_SIGMA_MIN, sigma_max: float = SD_SIGMA_MAX) -> torch.Tensor:
    """n sigmas evenly spaced in arctan(sigma) from sigma_max to sigma_min, then 0."""
    angles = torch.linspace(math.atan(sigma_max), math.atan(sigma_min), n, dtype=torch.float32)
    return sampling.append_zero(torch.tan(angles))


BETA = "Beta"
BETA_ALPHA = BETA_BETA = 0.6


def beta(n: int, sigma_min: float = SD_SIGMA_MIN, sigma_max: float = SD_SIGMA_MAX) -> torch.Tensor:
    """A1111's Beta schedule: linear in sigma between the ends, spaced by Beta(0.6, 0.6) quantiles, then 0."""
    from scipy import stats

    fractions = stats.beta.ppf(np.linspace(1, 0, n), BETA_ALPHA, BETA_BETA)
    return torch.tensor(np.append(sigma_min + fractions * (sigma_max - sigma_min), 0.0), dtype=torch.float32)


def guide_schedule(name: str) -> Schedule:
    """A schedule of the guides over SD 1.x's range."""
    def schedule(n: int) -> torch.Tensor:
        return named_schedules.get_sigmas(name, n, SD_SIGMA_MIN, SD_SIGMA_MAX)
    return schedule


def karras(n: int) -> torch.Tensor:
    return get_sigmas_karras(n, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0)


def kes(**shape: Any) -> Schedule:
    """A KES schedule with these shape arguments, computed anew at every call (never from the cache)."""
    def schedule(n: int) -> torch.Tensor:
        return simple_kes.compute_sigmas(n, SD_SIGMA_MIN, SD_SIGMA_MAX, **shape)
    return schedule


def shape_of(values: dict[str, Any]) -> dict[str, Any]:
    """The schedule keys of saved config values; a key saved before it existed (blend_from, ...) takes its default."""
    return {key: values.get(key, default) for key, default in SHAPE_DEFAULTS.items()}


def preset_shapes() -> dict[str, dict[str, Any]]:
    """'KES <name>' -> schedule arguments, for every preset except the defaults' (``DEFAULTS_PRESET``).

    Presets leave sigma_min/sigma_max unset (the model's range), so only the shape keys are passed.
    """
    shapes = {}
    for name in presets.preset_paths():
        if name != DEFAULTS_PRESET:
            values = presets.preset_values(name)
            shapes[KES_PREFIX + name] = shape_of(values)
    return shapes


def compared_schedules() -> dict[str, Schedule]:
    """Every compared schedule by name, in the order the tables list them."""
    chosen: dict[str, Schedule] = {
        KES_DEFAULTS: kes(),
        KES_BLEND_ONLY: kes(**BLEND_ONLY_SHAPE),
        BASELINE: karras,
        EXPONENTIAL: lambda n: get_sigmas_exponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX),
        POLYEXPONENTIAL: lambda n: sampling.get_sigmas_polyexponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=1.0),
        "KL Optimal": kl_optimal,
        "AYS SD1.5": align_your_steps_sd15,
        **{label: guide_schedule(name) for label, name in GUIDE_SCHEDULES.items()},
    }
    chosen.update({name: kes(**shape) for name, shape in preset_shapes().items()})
    return chosen


def is_kes(name: str) -> bool:
    return name.startswith(KES_PREFIX)


def preset_name(schedule: str) -> str | None:
    """'tuned-euler' for 'KES tuned-euler'; None for a schedule that is no preset."""
    if schedule in (KES_DEFAULTS, KES_BLEND_ONLY) or not is_kes(schedule):
        return None
    return schedule[len(KES_PREFIX):]


# --- free-form schedules with Karras's ends (the bound on what any schedule could gain) ---------------

LOG_RANGE = math.log(SD_SIGMA_MAX / SD_SIGMA_MIN)


def free_form_sigmas(logits: np.ndarray) -> torch.Tensor:
    """n + 1 float64 sigmas from n - 1 logits: sigma_max down to sigma_min in softmax-weighted log gaps, then 0.

    Every logit vector gives a strictly decreasing schedule with Karras's ends; all zeros is the
    Exponential schedule.
    """
    z = torch.as_tensor(logits, dtype=torch.float64)
    gaps = torch.softmax(z, 0) * LOG_RANGE
    log_sigmas = math.log(SD_SIGMA_MAX) - torch.cat([torch.zeros(1, dtype=torch.float64), gaps.cumsum(0)])
    sigmas = log_sigmas.exp()
    sigmas[0], sigmas[-1] = SD_SIGMA_MAX, SD_SIGMA_MIN  # exactly, not up to rounding
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)])


def karras_logits(steps: int) -> np.ndarray:
    """The logits whose free-form schedule is Karras rho 7 (up to float rounding)."""
    positive = karras(steps).to(torch.float64)[:-1]
    return (-positive.log().diff()).log().numpy()
