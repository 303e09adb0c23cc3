"""Simple Karras Exponential Scheduler ("Simple KES") for k-diffusion: the light core.

The schedule blends k-diffusion's Karras and Exponential schedules (or any two schedules of the
guides, ``named_schedules``) through a sigmoid, scales it by interpolated step-size and noise-scale
factors and sharpens it near sigma_min (``simple-kes-writeup.txt``). The core imports only the standard library, NumPy, torch and
k-diffusion, and those only when a name that needs them is first used, so that ``import
simple_kes`` (and the command line's ``--help``) costs nothing. Config files, hot reload, presets,
the command line and the pages live in ``simple_kes.app``; the WebUI glue in ``scripts/``.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

# Public name -> the core module that defines it, imported on first use (PEP 562).
_EXPORTS = {
    "BY_NAME": "parameters", "PARAMETERS": "parameters", "Parameter": "parameters", "Role": "parameters",
    "SD_SIGMA_MAX": "parameters", "SD_SIGMA_MIN": "parameters", "with_role": "parameters",
    "ConfigError": "config", "KesConfig": "config", "Problem": "config",
    "validate": "validation",
    "compute_sigmas": "schedule", "get_sigmas_karras_exponential": "schedule",
    "KesScheduler": "generation", "ScheduleRecord": "generation", "sigmas_for_config": "generation",
}
__all__ = sorted(_EXPORTS)

# A library stays quiet unless its user configures logging; the command line and the WebUI glue
# print load errors themselves.
logging.getLogger("simple_kes").addHandler(logging.NullHandler())


# The core modules, reachable as attributes too (simple_kes.schedule.schedule_parts), also on first use.
_SUBMODULES = frozenset({"parameters", "config", "validation", "schedule", "randomization", "generation",
                         "guidance", "mixing", "named_schedules", "schedule_catalogue"})


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)  # the import binds it in this namespace
    if name not in _EXPORTS:
        raise AttributeError(f"module 'simple_kes' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | _SUBMODULES)
