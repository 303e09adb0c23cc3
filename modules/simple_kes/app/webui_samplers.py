"""CFG++ samplers for the WebUI's Sampler dropdown (A1111 1.9+, Forge), as plain data and functions.

Imports nothing from the WebUI: ``scripts/karras_exponential.py`` turns each entry into the WebUI's
``SamplerData``. Each sampler function has the signature the WebUI's ``KDiffusionSampler`` inspects
(``model, x, sigmas, extra_args, callback, disable``, and ``eta``/``s_noise``/``noise_sampler`` for the
ancestral one); ``model`` is the WebUI's CFG denoiser. The function asks it to keep the unconditional
prediction (``need_last_noise_uncond``, as the WebUI's own DDIM CFG++ does; A1111 keeps the denoised
prediction, Forge the noise, so both are read), gives it the CFG++ weight as its scale, and runs the
core's CFG++ sampler.

The CFG Scale slider keeps its usual meaning: the weight is the scale divided by 12.5, the WebUI's own
convention for DDIM CFG++ and the paper's correspondence (a weight of 1 acts like CFG 12.5), so the
slider's familiar values (5 to 9) give the paper's recommended weights (0.4 to 0.7), and Karras
Exponential and every other schedule type apply as with the plain samplers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Callable, Iterable

from .. import guidance

SCALE_DIVISOR = 12.5
# The highest CFG scale these samplers accept: a weight of 2, the strongest the learned-model benchmark
# measured (docs/guidance.md: quality falls steadily past its best weight, as with CFG's scale). The
# paper's range ends at 1; stronger weights are refused with a message, not left to make a broken image.
MAX_CFG_SCALE = 25.0


@dataclasses.dataclass(frozen=True)
class CfgPpSampler:
    """One dropdown entry: the WebUI label, the core sampler, the aliases the API and infotext accept."""

    label: str
    core_name: str
    aliases: tuple[str, ...]
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


CFG_PP_SAMPLERS = (
    CfgPpSampler("Euler CFG++", "euler", ("k_euler_cfg_pp", "euler_cfg_pp")),
    CfgPpSampler("Euler a CFG++", "euler_ancestral", ("k_euler_a_cfg_pp", "euler_ancestral_cfg_pp"),
                 {"uses_ensd": True}),
    CfgPpSampler("DPM++ 2M CFG++", "dpmpp_2m", ("k_dpmpp_2m_cfg_pp", "dpmpp_2m_cfg_pp"), {"scheduler": "karras"}),
)


def names_of(entry: CfgPpSampler) -> set[str]:
    return {entry.label.lower(), *(alias.lower() for alias in entry.aliases)}


def samplers_to_add(existing: Iterable[tuple[str, Iterable[str]]]) -> list[CfgPpSampler]:
    """Our entries whose label or aliases no sampler has yet (reForge ships its own CFG++ samplers, and a
    Reload UI must not add ours twice). ``existing``: (name, aliases) of every registered sampler."""
    taken = {name.lower() for name, _ in existing} | {alias.lower() for _, aliases in existing for alias in aliases}
    return [entry for entry in CFG_PP_SAMPLERS if not names_of(entry) & taken]


def guidance_weight(cfg_scale: float) -> float:
    """The CFG++ weight for a CFG Scale; ValueError naming the value and the allowed range."""
    if not 0 <= cfg_scale <= MAX_CFG_SCALE:
        raise ValueError(f"CFG Scale {cfg_scale:g} is out of range for the CFG++ samplers; allowed: 0 to "
                         f"{MAX_CFG_SCALE:g} (the CFG++ weight is the scale / {SCALE_DIVISOR:g}; 5 to 9 is usual)")
    return cfg_scale / SCALE_DIVISOR


class UnconditionalTracker:
    """Wraps the WebUI's CFG denoiser: remembers each call's x and sigma, so that the unconditional
    prediction it kept can be read back as a denoised image whichever form the WebUI stored it in."""

    def __init__(self, model: Any):
        self.model = model
        self.x = self.sigma = None
        model.need_last_noise_uncond = True
        # Forge keeps the unconditional noise (x - D_u) / sigma; A1111 the denoised D_u itself. Only
        # Forge's CFG denoiser has classic_ddim_eps_estimation.
        self.stores_noise = hasattr(model, "classic_ddim_eps_estimation")

    def __call__(self, x: Any, sigma: Any, **extra_args: Any) -> Any:
        self.x, self.sigma = x, sigma
        return self.model(x, sigma, **extra_args)

    def uncond_denoised(self) -> Any:
        stored = self.model.last_noise_uncond
        if not self.stores_noise:
            return stored
        return self.x - self.sigma.reshape(-1, *([1] * (self.x.ndim - 1))) * stored


def weighted_extra_args(extra_args: dict | None) -> dict:
    """The WebUI's sampler arguments with the CFG++ weight as the CFG denoiser's scale (refused when out of range).

    A weight of exactly 1 is moved a hair below it: Forge skips the unconditional pass at a scale of 1,
    and CFG++ needs that prediction.
    """
    extra_args = dict(extra_args or {})
    weight = guidance_weight(float(extra_args.get("cond_scale", 1.0)))
    extra_args["cond_scale"] = weight if not math.isclose(weight, 1.0) else 1.0 - 1e-6
    return extra_args


@contextlib.contextmanager
def hires_weight(model: Any):
    """Forge's CFG denoiser takes the hires pass's scale from ``p.hr_cfg``, not from the sampler's
    arguments: for the pass, that attribute holds the CFG++ weight too, and gets its value back after."""
    p = getattr(model, "p", None)
    if not (getattr(p, "is_hr_pass", False) and hasattr(p, "hr_cfg")):
        yield
        return
    scale = p.hr_cfg
    p.hr_cfg = guidance_weight(float(scale))
    try:
        yield
    finally:
        p.hr_cfg = scale


def sampler_function(entry: CfgPpSampler) -> Callable[..., Any]:
    """The function the WebUI's KDiffusionSampler calls for ``entry``."""
    core = guidance.CFG_PP_SAMPLERS[entry.core_name]

    def run(model, x, sigmas, extra_args, callback, disable, **ancestral):
        tracker = UnconditionalTracker(model)
        with hires_weight(model):
            return core(tracker, x, sigmas, uncond_denoised=tracker.uncond_denoised,
                        extra_args=weighted_extra_args(extra_args), callback=callback, disable=disable, **ancestral)

    if entry.core_name == "euler_ancestral":
        def sample(model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0,
                   noise_sampler=None):
            return run(model, x, sigmas, extra_args, callback, disable, eta=eta, s_noise=s_noise,
                       noise_sampler=noise_sampler)
    else:
        def sample(model, x, sigmas, extra_args=None, callback=None, disable=None):
            return run(model, x, sigmas, extra_args, callback, disable)
    sample.__name__ = function_name(entry)
    return sample


def function_name(entry: CfgPpSampler) -> str:
    """The name of an entry's sampler function, as k-diffusion names its samplers."""
    return f"sample_{entry.core_name}_cfg_pp"
