"""Stand-in for modules/sd_schedulers.py (A1111 1.10): the Scheduler dataclass, the list and the map.

The list has A1111 1.10.1's names and labels; the schedules we never register a copy of (they are
A1111's own) refuse to run here, so a test that reaches one fails.
"""

import dataclasses

import k_diffusion.sampling


@dataclasses.dataclass
class Scheduler:
    name: str
    label: str
    function: any

    default_rho: float = -1
    need_inner_model: bool = False
    aliases: list = None


def _a1111_only(*args, **kwargs):
    raise NotImplementedError("A1111's own schedule: not in the stand-in")


schedulers = [
    Scheduler("automatic", "Automatic", None),
    Scheduler("uniform", "Uniform", _a1111_only, need_inner_model=True),
    Scheduler("karras", "Karras", k_diffusion.sampling.get_sigmas_karras, default_rho=7.0),
    Scheduler("exponential", "Exponential", k_diffusion.sampling.get_sigmas_exponential),
    Scheduler("polyexponential", "Polyexponential", k_diffusion.sampling.get_sigmas_polyexponential, default_rho=1.0),
    Scheduler("sgm_uniform", "SGM Uniform", _a1111_only, need_inner_model=True, aliases=["SGMUniform"]),
    Scheduler("kl_optimal", "KL Optimal", _a1111_only),
    Scheduler("align_your_steps", "Align Your Steps", _a1111_only),
    Scheduler("simple", "Simple", _a1111_only, need_inner_model=True),
    Scheduler("normal", "Normal", _a1111_only, need_inner_model=True),
    Scheduler("ddim", "DDIM", _a1111_only, need_inner_model=True),
    Scheduler("beta", "Beta", _a1111_only, need_inner_model=True),
]
# Built once at import, keyed by name and by label; nothing rebuilds it.
schedulers_map = {**{x.name: x for x in schedulers}, **{x.label: x for x in schedulers}}
