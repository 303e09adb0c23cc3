"""The Simple Karras Exponential schedule as a pure function over tensors.

Shaped like ``k_diffusion.sampling.get_sigmas_*``: ``(n, sigma_min, sigma_max, *, knobs, device)``
returning ``n + 1`` strictly decreasing sigmas that end in 0. Imports only the standard library,
NumPy, torch and k-diffusion (or, where that package is absent, ComfyUI's own copy of it).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch

from .kdiffusion import sampling
from .named_schedules import check_steps_and_range, named_sigmas
from .parameters import BY_NAME, SD_SIGMA_MAX, SD_SIGMA_MIN, SHAPE_PARAMETERS

# k-diffusion's own schedules are re-exported: importing them from here keeps its import warnings quiet.
get_sigmas_exponential, get_sigmas_karras = sampling.get_sigmas_exponential, sampling.get_sigmas_karras
__all__ = ["SD_SIGMA_MAX", "SD_SIGMA_MIN", "SHAPE_DEFAULTS", "compute_sigmas", "get_sigmas_exponential",
           "get_sigmas_karras", "get_sigmas_karras_exponential", "schedule_parts"]

# The write-up sharpens "when noise is low enough for details to emerge": below 1.5 x sigma_min.
SHARPEN_THRESHOLD = 1.5
# Keyword arguments of the schedule function, with the write-up's defaults.
SHAPE_DEFAULTS = {p.name: p.default for p in SHAPE_PARAMETERS}


def get_sigmas_karras_exponential(n, sigma_min, sigma_max, *, device="cpu", **shape) -> torch.Tensor:
    """Constructs the Simple Karras Exponential schedule (simple-kes-writeup.txt, "Detailed Analysis").

    ``shape`` takes the keys of ``SHAPE_DEFAULTS``; missing ones take the write-up's defaults.
    Raises ValueError, naming the argument and its allowed range, for invalid arguments or for a
    combination that would not give strictly decreasing sigmas.
    """
    n, sigma_min, sigma_max, shape = _checked_arguments(n, sigma_min, sigma_max, shape)
    sigmas = _cached_sigmas(n, sigma_min, sigma_max, tuple(shape.values()))
    return torch.from_numpy(sigmas.copy()).to(device)  # a copy: callers may modify their tensor


def compute_sigmas(n, sigma_min, sigma_max, *, device="cpu", **shape) -> torch.Tensor:
    """``get_sigmas_karras_exponential`` computed anew, bypassing the cache of repeated requests.

    For sweeps over many step counts (they would only evict the WebUI's entries) and for timing the
    computation itself.
    """
    n, sigma_min, sigma_max, shape = _checked_arguments(n, sigma_min, sigma_max, shape)
    return torch.from_numpy(_compute_sigmas(n, sigma_min, sigma_max, shape)).to(device)


def _checked_arguments(n: Any, sigma_min: Any, sigma_max: Any,
                       shape: dict[str, Any]) -> tuple[int, float, float, dict[str, Any]]:
    return *check_steps_and_range(n, sigma_min, sigma_max), _check_shape(shape)


def _compute_sigmas(n: int, sigma_min: float, sigma_max: float, shape: dict[str, Any]) -> np.ndarray:
    """The float32 sigmas for already-checked arguments; raises ValueError if they would not fall."""
    # An extreme range can overflow float32; the check below reports that as one clear error, so
    # NumPy's own overflow warnings would only repeat it less clearly.
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        parts = schedule_parts(n, sigma_min, sigma_max, **shape)
        sigmas = parts["sigmas"].astype(np.float32)
    problem = _monotonicity_problem(sigmas, parts, shape, n)
    if problem:
        raise ValueError(problem)
    return sigmas


@functools.lru_cache(maxsize=64)
def _cached_sigmas(n: int, sigma_min: float, sigma_max: float, shape_values: tuple) -> np.ndarray:
    """``_compute_sigmas``, kept for the next identical request (read-only).

    A WebUI session asks for the same schedule at every generation until a setting changes; the
    function is pure, so the second request costs a lookup. Errors are raised, never cached.
    """
    sigmas = _compute_sigmas(n, sigma_min, sigma_max, dict(zip(SHAPE_DEFAULTS, shape_values)))
    sigmas.flags.writeable = False
    return sigmas


def schedule_parts(n: int, sigma_min: float, sigma_max: float, **shape) -> dict[str, np.ndarray]:
    """The intermediate curves of the schedule in float64; arguments must already be valid.

    The blending runs in NumPy: for the few dozen sigmas of a schedule, its per-operation overhead is
    a fraction of torch's, which keeps KES within a small multiple of Karras alone.
    """
    sigma_top = sigma_max * shape["sigma_max_factor"]
    if not sigma_top > sigma_min:
        raise ValueError(
            f"sigma_max x sigma_max_factor ({sigma_max:g} x {shape['sigma_max_factor']:g} = {sigma_top:g}) "
            f"must be above sigma_min ({sigma_min:g}); allowed: sigma_max_factor > {sigma_min / sigma_max:g}"
        )
    blend_from = _base(shape["blend_from"], n, sigma_min, sigma_top, shape["rho"])
    blend_to = _base(shape["blend_to"], n, sigma_min, sigma_top, shape["rho"])
    progress = np.arange(n + 1, dtype=np.float64) / n
    # w = sigmoid((blend - 0.5) * smooth_blend_factor) with blend = lerp(start_blend, end_blend, p),
    # written as 0.5 + 0.5 * tanh(x / 2): the same function, one array operation cheaper and free
    # of exp overflow. The scalar constants are folded before they touch the array.
    half_steepness = shape["smooth_blend_factor"] / 2
    half_logit = _lerp((shape["start_blend"] - 0.5) * half_steepness, (shape["end_blend"] - 0.5) * half_steepness,
                       _held(progress, n, shape["update_interval"]))
    blend_weight = 0.5 + 0.5 * np.tanh(half_logit)
    blended = blend_from + (blend_to - blend_from) * blend_weight
    step_size = _lerp(shape["initial_step_size"], shape["final_step_size"] * shape["step_size_factor"], progress)
    noise_scale = _lerp(shape["initial_noise_scale"], shape["final_noise_scale"] * shape["noise_scale_factor"],
                        progress)
    scale = step_size * noise_scale
    unsharpened = blended * scale
    sharpened = unsharpened < SHARPEN_THRESHOLD * sigma_min
    sigmas = np.where(sharpened, unsharpened * shape["sharpness"], unsharpened)
    return {"blend_from": blend_from, "blend_to": blend_to, "blend_weight": blend_weight,
            "blended": blended, "scale": scale, "unsharpened": unsharpened, "sharpened": sharpened,
            "sigmas": sigmas}


def _base(name: str, n: int, sigma_min: float, sigma_top: float, rho: float) -> np.ndarray:
    """One of the curves the blend runs between; Karras's takes the schedule's rho."""
    if name != "karras":
        return named_sigmas(name, n, sigma_min, sigma_top)
    try:
        return get_sigmas_karras(n=n, sigma_min=sigma_min, sigma_max=sigma_top, rho=rho).numpy()
    except OverflowError:  # sigma ** (1 / rho) on Python floats, for a tiny rho
        raise ValueError(f"the schedule overflows for {n} steps: rho={rho:g} is too small for sigma_max x "
                         f"sigma_max_factor = {sigma_top:g}; raise rho") from None


def _lerp(start: float, end: float, progress: np.ndarray) -> np.ndarray:
    return start + (end - start) * progress


def _held(progress: np.ndarray, n: int, update_interval: int) -> np.ndarray:
    """Progress that moves only every ``update_interval`` steps (the write-up's update_interval)."""
    if update_interval == 1:
        return progress
    return np.arange(n + 1) // update_interval * update_interval / n


def _check_shape(shape: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(shape) - set(SHAPE_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown schedule argument(s) {', '.join(unknown)}; allowed: {', '.join(SHAPE_DEFAULTS)}")
    checked = dict(SHAPE_DEFAULTS)
    for name, value in shape.items():
        message = BY_NAME[name].check(value)
        if message:
            raise ValueError(f"{name}: {message}")
        checked[name] = BY_NAME[name].coerce(value)
    return checked


def _blend_problem(shape: dict[str, Any]) -> str:
    """Why the blend itself rose: its weight moved towards the higher of its two curves faster than they fall."""
    values = (f"start_blend={shape['start_blend']:g}, end_blend={shape['end_blend']:g}, "
              f"smooth_blend_factor={shape['smooth_blend_factor']:g}")
    if (shape["blend_from"], shape["blend_to"]) == ("karras", "exponential"):
        # Exponential lies below Karras until the last steps, so only a falling weight climbs back.
        return (f"The Exponential weight falls ({values}), moving back to the higher Karras sigmas; allowed: "
                "start_blend <= end_blend with smooth_blend_factor >= 0 is always safe")
    return (f"The blend weight moves between {shape['blend_from']} and {shape['blend_to']} faster than they fall "
            f"({values}); allowed: start_blend = end_blend (a fixed mix of two schedules) is always safe, or "
            "lower smooth_blend_factor")


def _monotonicity_problem(sigmas: np.ndarray, parts: dict[str, np.ndarray], shape: dict[str, Any],
                          n: int) -> str | None:
    """Why ``sigmas`` is not a valid schedule (finite, strictly decreasing, last 0), or None."""
    # Strictly decreasing with a finite first value implies all finite (NaN fails every comparison).
    if math.isfinite(sigmas[0]) and (sigmas[1:] < sigmas[:-1]).all():
        return None
    if not np.isfinite(sigmas).all():
        return (f"the schedule overflows for {n} steps: raise rho or lower sigma_max, sigma_max_factor, "
                "initial_step_size or initial_noise_scale")
    rising = np.flatnonzero(sigmas[1:] >= sigmas[:-1])
    if len(rising) == 0:
        return None
    step = int(rising[0])
    where = (f"the sigmas would not be strictly decreasing for {n} steps: step {step + 1} has "
             f"{sigmas[step + 1]:.6g} after {sigmas[step]:.6g}")
    unsharpened, sharpened = parts["unsharpened"], parts["sharpened"]
    if bool(sharpened[step + 1]) != bool(sharpened[step]) and shape["sharpness"] > 1:
        limit = unsharpened[step] / unsharpened[step + 1]
        return (f"{where}. sharpness={shape['sharpness']:g} lifts the first sigma below 1.5 x sigma_min above "
                f"the one before it; allowed here: sharpness < {limit:.6g} (any value <= 1 is always safe)")
    if parts["blended"][step + 1] >= parts["blended"][step]:
        return f"{where}. {_blend_problem(shape)}"
    if parts["scale"][step + 1] >= parts["scale"][step]:
        final_step = shape["final_step_size"] * shape["step_size_factor"]
        final_noise = shape["final_noise_scale"] * shape["noise_scale_factor"]
        return (f"{where}. step size x noise scale rises faster than the blended sigmas fall; allowed: "
                f"final_step_size x step_size_factor <= initial_step_size (now {final_step:g} vs "
                f"{shape['initial_step_size']:g}) and final_noise_scale x noise_scale_factor <= "
                f"initial_noise_scale (now {final_noise:g} vs {shape['initial_noise_scale']:g}) is always safe")
    return (f"{where} (float32 cannot tell them apart); use fewer steps, a wider sigma range or rho >= 2 "
            "(a small rho over a wide range loses float32 precision near sigma_min)")
