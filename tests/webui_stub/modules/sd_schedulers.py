"""Stand-in for modules/sd_schedulers.py (A1111 1.10): the Scheduler dataclass, the list and the map."""

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


schedulers = [
    Scheduler("automatic", "Automatic", None),
    Scheduler("karras", "Karras", k_diffusion.sampling.get_sigmas_karras, default_rho=7.0),
    Scheduler("exponential", "Exponential", k_diffusion.sampling.get_sigmas_exponential),
    Scheduler("polyexponential", "Polyexponential", k_diffusion.sampling.get_sigmas_polyexponential, default_rho=1.0),
]
# Built once at import, keyed by name and by label; nothing rebuilds it.
schedulers_map = {**{x.name: x for x in schedulers}, **{x.label: x for x in schedulers}}
