"""The schedules of the guides as functions over any sigma range, by name.

Each has k-diffusion's signature, ``(n, sigma_min, sigma_max, device="cpu") -> n + 1`` float32 sigmas,
strictly decreasing and ending in 0, and is given over the range it is asked for:

- Schedules made on SD's 1000 discrete timesteps (normal, sgm_uniform, simple, ddim_uniform, beta, the
  Align Your Steps SD 1.5 and SDXL lists, GITS) are laid out in SD's timesteps and moved onto the
  timesteps of the range asked for: timestep 999 becomes sigma_max's and timestep 0 sigma_min's,
  linearly in between. Over SD's own range (0.0292 to 14.6146) they are the published values.
- The schedules derived from a beta schedule (DDPM linear and quadratic, iDDPM cosine) are evenly
  spaced timesteps of that schedule between the timesteps where its sigma is sigma_max and sigma_min.
- The SVD list (a continuous model's sigmas, 0.002 to 700) is moved linearly in log sigma.
- linear_quadratic runs in the flow time it was made for and is converted to sigma.

Where sigmas fall outside a table, it is extended log-linearly from its end. The catalogue
(``schedule_catalogue.py``) says where each one comes from; docs/schedules.md cites them.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np
import torch

from .kdiffusion import sampling
from .schedule_catalogue import SCHEDULE_NAMES

TIMESTEPS = 1000
LAST_TIMESTEP = TIMESTEPS - 1
# The longest schedule the index-picking schedules (simple, ddim_uniform) can give from 1000 timesteps.
MAX_INDEX_STEPS = {"simple": TIMESTEPS, "ddim_uniform": LAST_TIMESTEP}


def _sigmas_of_betas(betas: np.ndarray) -> np.ndarray:
    alphas_cumprod = np.cumprod(1.0 - betas)
    return np.sqrt((1.0 - alphas_cumprod) / alphas_cumprod)


def _cosine_betas(offset: float = 0.008) -> np.ndarray:
    """Nichol and Dhariwal's cosine schedule (eq. 17), each beta clipped at 0.999 as they do."""
    def alpha_bar(t):
        return np.cos((t + offset) / (1 + offset) * math.pi / 2) ** 2
    steps = np.arange(TIMESTEPS, dtype=np.float64)
    return np.minimum(1 - alpha_bar((steps + 1) / TIMESTEPS) / alpha_bar(steps / TIMESTEPS), 0.999)


def _interp_extended(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp`` over increasing ``xp``, continued beyond both ends along the end segments."""
    y = np.interp(x, xp, fp)
    low_slope = (fp[1] - fp[0]) / (xp[1] - xp[0])
    high_slope = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
    y = np.where(x < xp[0], fp[0] + (x - xp[0]) * low_slope, y)
    return np.where(x > xp[-1], fp[-1] + (x - xp[-1]) * high_slope, y)


class TimestepTable:
    """A discrete model's sigma at each of its 1000 timesteps, log-linear between them (k-diffusion's
    ``t_to_sigma``) and beyond them."""

    def __init__(self, betas: np.ndarray):
        self.log_sigmas = np.log(_sigmas_of_betas(betas))
        self.timesteps = np.arange(TIMESTEPS, dtype=np.float64)

    def sigma(self, timesteps) -> np.ndarray:
        return np.exp(_interp_extended(np.asarray(timesteps, dtype=np.float64), self.timesteps, self.log_sigmas))

    def timestep(self, sigmas) -> np.ndarray:
        return _interp_extended(np.log(np.asarray(sigmas, dtype=np.float64)), self.log_sigmas, self.timesteps)

    def on_range(self, timesteps, sigma_min: float, sigma_max: float) -> np.ndarray:
        """Sigmas for timesteps of this table (999 = top, 0 = bottom) moved onto sigma_max..sigma_min."""
        top, bottom = self.timestep([sigma_max, sigma_min])
        return self.sigma(bottom + np.asarray(timesteps, dtype=np.float64) / LAST_TIMESTEP * (top - bottom))


# SD 1.x/2.x/SDXL: 'scaled linear' betas from 0.00085 to 0.012 (sigma 0.0291672 to 14.6146).
SD_TABLE = TimestepTable(np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, TIMESTEPS, dtype=np.float64) ** 2)
BETA_SCHEDULE_TABLES = {
    "ddpm_linear": TimestepTable(np.linspace(1e-4, 0.02, TIMESTEPS, dtype=np.float64)),
    "ddpm_quadratic": TimestepTable(np.linspace(1e-4 ** 0.5, 0.02 ** 0.5, TIMESTEPS, dtype=np.float64) ** 2),
    "iddpm_cosine": TimestepTable(_cosine_betas()),
}

# Align Your Steps, NVIDIA's published 10-step lists
# (https://research.nvidia.com/labs/toronto-ai/AlignYourSteps/howto.html). For SD 1.5 and SDXL the
# timesteps are used, as ComfyUI does (the page prints the noise levels rounded to 3 decimals).
AYS_SD15_TIMESTEPS = (999, 850, 736, 645, 545, 455, 343, 233, 124, 24, 0)
AYS_SDXL_TIMESTEPS = (999, 845, 730, 587, 443, 310, 193, 116, 53, 13, 0)
AYS_SVD_SIGMAS = (700.00, 54.5, 15.886, 7.977, 4.248, 1.789, 0.981, 0.403, 0.173, 0.034, 0.002)
SVD_SIGMA_RANGE = (0.002, 700.0)
# The 32-value lists of A1111 PR #15751 (a user's comment there), as Forge and reForge ship them.
AYS_32_SD15_SIGMAS = (
    14.615, 11.23951352, 8.64363081, 6.64729424, 5.57250862, 4.71648546, 3.99196065, 3.5195609, 3.13490466,
    2.79228788, 2.48773628, 2.21663865, 1.97508351, 1.7793172, 1.61475335, 1.46540953, 1.314849, 1.16642497,
    1.03475547, 0.91573744, 0.80748169, 0.71202361, 0.621739, 0.53065202, 0.4529096, 0.37491455, 0.27461819,
    0.2011529, 0.14105873, 0.06682881, 0.03166121, 0.015)
AYS_32_SDXL_SIGMAS = (
    14.615, 11.1491618, 8.50522127, 6.48827151, 5.43707402, 4.60398619, 3.89854704, 3.27407457, 2.74396527,
    2.29968659, 1.95448514, 1.67108715, 1.42878152, 1.23181009, 1.06789649, 0.92579443, 0.80290886, 0.69660121,
    0.60436903, 0.52852552, 0.46773344, 0.41393379, 0.36258186, 0.31008517, 0.26518925, 0.22326461, 0.17653877,
    0.13959192, 0.10587381, 0.05519369, 0.02877334, 0.015)

# GITS: the SD 1.5 schedules for 2 to 20 steps at the default coefficient 1.20, as the paper's second
# author contributed them to ComfyUI (comfy_extras/nodes_gits.py, PR #3769); each has steps + 1 sigmas.
GITS_SD15_COEFF_1_20 = (
    (14.61464119, 0.803307, 0.02916753),
    (14.61464119, 1.56271636, 0.52423614, 0.02916753),
    (14.61464119, 2.36326075, 0.92192322, 0.36617002, 0.02916753),
    (14.61464119, 2.84484982, 1.24153244, 0.59516323, 0.25053367, 0.02916753),
    (14.61464119, 5.85520077, 2.05039096, 0.95350921, 0.45573691, 0.17026083, 0.02916753),
    (14.61464119, 5.85520077, 2.45070267, 1.24153244, 0.64427125, 0.29807833, 0.09824532, 0.02916753),
    (14.61464119, 5.85520077, 2.45070267, 1.36964464, 0.803307, 0.45573691, 0.25053367, 0.09824532, 0.02916753),
    (14.61464119, 5.85520077, 2.84484982, 1.61558151, 0.95350921, 0.59516323, 0.36617002, 0.19894916,
     0.09824532, 0.02916753),
    (14.61464119, 5.85520077, 2.84484982, 1.67050016, 1.08895338, 0.74807048, 0.50118381, 0.32104823,
     0.19894916, 0.09824532, 0.02916753),
    (14.61464119, 5.85520077, 2.95596409, 1.84880662, 1.24153244, 0.83188516, 0.59516323, 0.41087446,
     0.27464288, 0.17026083, 0.09824532, 0.02916753),
    (14.61464119, 5.85520077, 3.07277966, 1.98035145, 1.36964464, 0.95350921, 0.69515091, 0.50118381,
     0.36617002, 0.25053367, 0.17026083, 0.09824532, 0.02916753),
    (14.61464119, 6.77309084, 3.46139455, 2.36326075, 1.56271636, 1.08895338, 0.803307, 0.59516323,
     0.45573691, 0.34370604, 0.25053367, 0.17026083, 0.09824532, 0.02916753),
    (14.61464119, 6.77309084, 3.46139455, 2.45070267, 1.61558151, 1.162866, 0.86115354, 0.64427125,
     0.50118381, 0.38853383, 0.29807833, 0.22545385, 0.17026083, 0.09824532, 0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.12350607, 1.51179266, 1.08895338, 0.83188516,
     0.64427125, 0.50118381, 0.38853383, 0.29807833, 0.22545385, 0.17026083, 0.09824532, 0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.12350607, 1.51179266, 1.08895338, 0.83188516,
     0.64427125, 0.50118381, 0.41087446, 0.32104823, 0.25053367, 0.19894916, 0.13792117, 0.09824532,
     0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.12350607, 1.51179266, 1.08895338, 0.83188516,
     0.64427125, 0.50118381, 0.41087446, 0.34370604, 0.27464288, 0.22545385, 0.17026083, 0.13792117,
     0.09824532, 0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.19988537, 1.61558151, 1.20157266, 0.92192322,
     0.72133851, 0.57119018, 0.45573691, 0.36617002, 0.29807833, 0.25053367, 0.19894916, 0.17026083,
     0.13792117, 0.09824532, 0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.19988537, 1.61558151, 1.24153244, 0.95350921,
     0.74807048, 0.59516323, 0.4783645, 0.38853383, 0.32104823, 0.27464288, 0.22545385, 0.19894916,
     0.17026083, 0.13792117, 0.09824532, 0.02916753),
    (14.61464119, 7.49001646, 4.65472794, 3.07277966, 2.19988537, 1.61558151, 1.24153244, 0.95350921,
     0.74807048, 0.59516323, 0.50118381, 0.41087446, 0.34370604, 0.29807833, 0.25053367, 0.22545385,
     0.19894916, 0.17026083, 0.13792117, 0.09824532, 0.02916753),
)

LINEAR_QUADRATIC_THRESHOLD = 0.025  # Genmo's threshold_noise
BETA_DISTRIBUTION = (0.6, 0.6)  # ComfyUI's and the paper's default alpha and beta


def loglinear_resample(sigmas, count: int) -> np.ndarray:
    """A decreasing list resampled to ``count`` values, linear in log sigma over the position in the list.

    The rule the Align Your Steps authors give for other step counts (and GITS's above 20 steps); the
    first and last values are kept.
    """
    known = np.log(np.asarray(sigmas, dtype=np.float64))
    return np.exp(np.interp(np.linspace(0, 1, count), np.linspace(0, 1, len(known)), known[::-1])[::-1])


def _beta_quantiles(fractions: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Quantiles of the Beta(alpha, beta) distribution, from its CDF integrated on a fine grid.

    With x = sin(theta) ** 2 the density becomes 2 sin^(2 alpha - 1) cos^(2 beta - 1), bounded for
    alpha, beta >= 0.5, so the trapezoid rule is accurate to far below a timestep.
    """
    theta = np.linspace(0, math.pi / 2, 20001)
    density = 2 * np.sin(theta) ** (2 * alpha - 1) * np.cos(theta) ** (2 * beta - 1)
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(theta))])
    return np.interp(fractions, cdf / cdf[-1], np.sin(theta) ** 2)


# --- the schedules, each (n, sigma_min, sigma_max) -> n + 1 float64 sigmas ending in 0 -------------------

def _karras(n, sigma_min, sigma_max):
    return sampling.get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0).double().numpy()


def _exponential(n, sigma_min, sigma_max):
    return sampling.get_sigmas_exponential(n, sigma_min, sigma_max).double().numpy()


def _sd_timesteps(timesteps) -> Callable:
    """A schedule of n SD timesteps (``timesteps(n)``), moved onto the range asked for, then 0."""
    def schedule(n, sigma_min, sigma_max):
        return np.append(SD_TABLE.on_range(timesteps(n), sigma_min, sigma_max), 0.0)
    return schedule


def _normal_timesteps(n):
    return np.linspace(LAST_TIMESTEP, 0, n)


def _sgm_uniform_timesteps(n):
    return np.linspace(LAST_TIMESTEP, 0, n + 1)[:-1]


def _simple_timesteps(n):
    _check_index_steps("simple", n)
    return LAST_TIMESTEP - np.floor(np.arange(n) * TIMESTEPS / n)


def _ddim_uniform_timesteps(n):
    _check_index_steps("ddim_uniform", n)
    return 1.0 + np.arange(n - 1, -1, -1) * (TIMESTEPS // n)


def _beta_timesteps(n):
    """Whole timesteps as ComfyUI has them; where rounding would repeat one (ComfyUI then drops it and
    gives fewer steps) the unrounded timesteps, so there are always n."""
    timesteps = _beta_quantiles(1 - np.arange(n) / n, *BETA_DISTRIBUTION) * LAST_TIMESTEP
    rounded = np.rint(timesteps)
    return rounded if (np.diff(rounded) < 0).all() else timesteps


def _check_index_steps(name: str, n: int) -> None:
    if n > MAX_INDEX_STEPS[name]:
        raise ValueError(f"{name} picks distinct timesteps of the 1000: at most {MAX_INDEX_STEPS[name]} steps, got {n}")


def _sd_list(sigmas) -> Callable:
    """A published list of SD sigmas resampled log-linearly to n values, then 0, as A1111 and Forge use
    Align Your Steps: a list of k values is itself at k steps (its last value then 0)."""
    return _sd_timesteps(lambda n: SD_TABLE.timestep(loglinear_resample(sigmas, n)))


def _gits(n, sigma_min, sigma_max):
    """The authors' list for n steps, its last value (sigma_min) replaced by 0 as their node does;
    above 20 steps the 20-step list resampled log-linearly to n + 1 values."""
    if n == 1:
        listed = np.array([GITS_SD15_COEFF_1_20[0][0], 0.0])
    elif n <= len(GITS_SD15_COEFF_1_20) + 1:
        listed = np.array(GITS_SD15_COEFF_1_20[n - 2], dtype=np.float64)
    else:
        listed = loglinear_resample(GITS_SD15_COEFF_1_20[-1], n + 1)
    return np.append(SD_TABLE.on_range(SD_TABLE.timestep(listed[:-1]), sigma_min, sigma_max), 0.0)


def _align_your_steps_svd(n, sigma_min, sigma_max):
    low, high = np.log(SVD_SIGMA_RANGE)
    fractions = (np.log(loglinear_resample(AYS_SVD_SIGMAS, n)) - low) / (high - low)
    return np.append(np.exp(math.log(sigma_min) + fractions * math.log(sigma_max / sigma_min)), 0.0)


def _kl_optimal(n, sigma_min, sigma_max):
    angles = np.linspace(math.atan(sigma_max), math.atan(sigma_min), n)
    return np.append(np.tan(angles), 0.0)


def linear_quadratic_flow_times(n: int, threshold: float = LINEAR_QUADRATIC_THRESHOLD) -> np.ndarray:
    """Genmo's schedule in flow time (1 = pure noise): n + 1 values from 1 to 0.

    Linear from 0 to ``threshold`` noise removed over the first n // 2 steps, then a quadratic that
    meets it with the same slope and reaches 1 at step n.
    """
    if n == 1:
        return np.array([1.0, 0.0])
    linear_steps = n // 2
    quadratic_steps = n - linear_steps
    gap = linear_steps - threshold * n
    a = gap / (linear_steps * quadratic_steps ** 2)
    b = threshold / linear_steps - 2 * gap / quadratic_steps ** 2
    c = a * linear_steps ** 2
    steps = np.arange(n + 1, dtype=np.float64)
    removed = np.where(steps < linear_steps, steps * threshold / linear_steps, a * steps ** 2 + b * steps + c)
    removed[-1] = 1.0
    return 1.0 - removed


def _linear_quadratic(n, sigma_min, sigma_max):
    """The flow times scaled so the first is sigma_max's (t = sigma / (1 + sigma)), then sigma = t / (1 - t)."""
    times = linear_quadratic_flow_times(n) * (sigma_max / (1 + sigma_max))
    return times / (1 - times)


def _beta_schedule_derived(table: TimestepTable) -> Callable:
    def schedule(n, sigma_min, sigma_max):
        top, bottom = table.timestep([sigma_max, sigma_min])
        return np.append(table.sigma(np.linspace(top, bottom, n)), 0.0)
    return schedule


SCHEDULES: dict[str, Callable[[int, float, float], np.ndarray]] = {
    "karras": _karras,
    "exponential": _exponential,
    "normal": _sd_timesteps(_normal_timesteps),
    "sgm_uniform": _sd_timesteps(_sgm_uniform_timesteps),
    "simple": _sd_timesteps(_simple_timesteps),
    "ddim_uniform": _sd_timesteps(_ddim_uniform_timesteps),
    "beta": _sd_timesteps(_beta_timesteps),
    "kl_optimal": _kl_optimal,
    "align_your_steps_sd15": _sd_list(SD_TABLE.sigma(AYS_SD15_TIMESTEPS)),
    "align_your_steps_sdxl": _sd_list(SD_TABLE.sigma(AYS_SDXL_TIMESTEPS)),
    "align_your_steps_svd": _align_your_steps_svd,
    "align_your_steps_32_sd15": _sd_list(AYS_32_SD15_SIGMAS),
    "align_your_steps_32_sdxl": _sd_list(AYS_32_SDXL_SIGMAS),
    "gits": _gits,
    "linear_quadratic": _linear_quadratic,
    **{name: _beta_schedule_derived(table) for name, table in BETA_SCHEDULE_TABLES.items()},
}
if tuple(SCHEDULES) != SCHEDULE_NAMES:
    raise RuntimeError("every catalogue entry needs its function, in the catalogue's order")


def named_sigmas(name: str, n: int, sigma_min: float, sigma_max: float) -> np.ndarray:
    """The float64 sigmas of schedule ``name`` for already-checked arguments (the KES blend's bases)."""
    return SCHEDULES[name](n, sigma_min, sigma_max)


def get_sigmas(name: str, n, sigma_min, sigma_max, device="cpu") -> torch.Tensor:
    """Schedule ``name`` as k-diffusion returns its own: n + 1 float32 sigmas on ``device``, ending in 0.

    Raises ValueError, naming the argument and its allowed range, for a bad name, step count or range.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    n, sigma_min, sigma_max = check_steps_and_range(n, sigma_min, sigma_max)
    return torch.from_numpy(named_sigmas(name, n, sigma_min, sigma_max).astype(np.float32)).to(device)


def scheduler_function(name: str) -> Callable[..., torch.Tensor]:
    """``get_sigmas`` for one schedule, with the signature a frontend registers: (n, sigma_min, sigma_max, device)."""
    def sigmas(n, sigma_min, sigma_max, device="cpu", **_ignored):
        return get_sigmas(name, n, sigma_min, sigma_max, device)
    sigmas.__name__ = f"get_sigmas_{name}"
    return sigmas


def check_steps_and_range(n: Any, sigma_min: Any, sigma_max: Any) -> tuple[int, float, float]:
    """The arguments every schedule shares, checked: raises ValueError naming the argument and its range."""
    return _check_steps(n), *_check_sigma_range(sigma_min, sigma_max)


def _check_steps(n: Any) -> int:
    if isinstance(n, bool):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    try:
        steps = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be an integer >= 1, got {n!r}") from None
    if steps < 1:
        raise ValueError(f"n must be an integer >= 1, got {steps}")
    return steps


def _check_sigma_range(sigma_min: Any, sigma_max: Any) -> tuple[float, float]:
    for name, value in (("sigma_min", sigma_min), ("sigma_max", sigma_max)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if sigma_min >= sigma_max:
        raise ValueError(f"sigma_min must be below sigma_max, got sigma_min={sigma_min:g} >= sigma_max={sigma_max:g}")
    return float(sigma_min), float(sigma_max)
