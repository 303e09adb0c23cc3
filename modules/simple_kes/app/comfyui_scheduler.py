"""Adding a schedule to ComfyUI's scheduler list (``comfy/samplers.py``), in whichever way the running
version supports, so that KSampler, KSamplerAdvanced, BasicScheduler and every node that offers the
list show it.

- ComfyUI 0.3.11 and newer: a name -> ``SchedulerHandler`` registry, ``SCHEDULER_HANDLERS``, read at
  sampling time.
- ComfyUI from April 2024 to 0.3.10: ``calculate_sigmas(model_sampling, scheduler_name, steps)`` is a
  chain of ifs over the names; it is wrapped once so our name reaches our function and every other
  name the original.

Either way the name is appended to ``SCHEDULER_NAMES`` in place: KSampler's ``SCHEDULERS`` is that same
list object, and a new list would make the dropdowns and the validation disagree. Registering again
(ComfyUI imports a pack once, tests more often) replaces the entry instead of adding another.
"""

from __future__ import annotations

from typing import Any, Callable

SigmasFunction = Callable[..., Any]  # (n, sigma_min, sigma_max) -> sigmas, k-diffusion's signature
# Set on the wrapper of an old ComfyUI's calculate_sigmas: the function it wraps and the schedules it adds.
_ORIGINAL = "_karras_exponential_original"
_ADDED = "_karras_exponential_schedules"


def register_scheduler(samplers: Any, name: str, function: SigmasFunction) -> str:
    """Add ``function`` to ``samplers`` (the ``comfy.samplers`` module) as ``name``; returns the mechanism used."""
    handlers = getattr(samplers, "SCHEDULER_HANDLERS", None)
    if handlers is not None:
        handlers[name] = samplers.SchedulerHandler(function, use_ms=False)
        mechanism = "SCHEDULER_HANDLERS"
    else:
        _wrap_calculate_sigmas(samplers)[name] = function
        mechanism = "calculate_sigmas"
    if name not in samplers.SCHEDULER_NAMES:
        samplers.SCHEDULER_NAMES.append(name)
    return mechanism


def register_guide_schedules(samplers: Any) -> list[str]:
    """Add each schedule of the guides that ``samplers`` lacks by name; returns the names added.

    ComfyUI has normal, simple, sgm_uniform, ddim_uniform, beta, kl_optimal and linear_quadratic of its
    own, and Align Your Steps and GITS only as separate SIGMAS nodes; those two come into the list, per
    model (align_your_steps_sd15, ...), as do the beta-schedule-derived ones.
    """
    from ..named_schedules import scheduler_function
    from ..schedule_catalogue import SCHEDULE_NAMES

    added = [name for name in SCHEDULE_NAMES if name not in samplers.SCHEDULER_NAMES]
    for name in added:
        register_scheduler(samplers, name, scheduler_function(name))
    return added


def _wrap_calculate_sigmas(samplers: Any) -> dict[str, SigmasFunction]:
    """The schedules added to an old ComfyUI's ``calculate_sigmas``, wrapping it on first use."""
    current = samplers.calculate_sigmas
    if hasattr(current, _ADDED):
        return getattr(current, _ADDED)
    original = current
    added: dict[str, SigmasFunction] = {}

    def calculate_sigmas(model_sampling, scheduler_name, steps):
        function = added.get(scheduler_name)
        if function is None:
            return original(model_sampling, scheduler_name, steps)
        return function(n=steps, sigma_min=float(model_sampling.sigma_min),
                        sigma_max=float(model_sampling.sigma_max))

    setattr(calculate_sigmas, _ORIGINAL, original)
    setattr(calculate_sigmas, _ADDED, added)
    samplers.calculate_sigmas = calculate_sigmas
    return added
