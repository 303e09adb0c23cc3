"""Simple Karras Exponential Scheduler ("Simple KES") for k-diffusion and the Stable Diffusion WebUI.

The schedule blends k-diffusion's Karras and Exponential schedules through a sigmoid, scales it by
interpolated step-size and noise-scale factors and sharpens it near sigma_min
(``simple-kes-writeup.txt``). Nothing here imports the WebUI; the glue lives in ``scripts/``.
"""

from __future__ import annotations

import logging
import threading

from .config import ConfigError, KesConfig, Problem
from .config_file import TEMPLATE_PATH, read_config, save_config, user_config_path
from .manager import ConfigManager, LoadResult
from .parameters import BY_NAME, PARAMETERS, Parameter
from .schedule import SD_SIGMA_MAX, SD_SIGMA_MIN, get_sigmas_karras_exponential
from .scheduler import KesScheduler, ScheduleRecord, sigmas_for_config

__all__ = [
    "BY_NAME", "ConfigError", "ConfigManager", "KesConfig", "KesScheduler", "LoadResult", "PARAMETERS",
    "Parameter", "Problem", "SD_SIGMA_MAX", "SD_SIGMA_MIN", "ScheduleRecord", "TEMPLATE_PATH",
    "default_manager", "default_scheduler", "get_sigmas_karras_exponential", "read_config", "save_config",
    "sigmas_for_config", "simple_karras_exponential_scheduler", "user_config_path",
]

# A library stays quiet unless its user configures logging; the CLI and the WebUI glue print
# load errors themselves.
logging.getLogger("simple_kes").addHandler(logging.NullHandler())

_default_manager: ConfigManager | None = None
_default_manager_lock = threading.Lock()


def default_manager() -> ConfigManager:
    """The process-wide manager of the user's config file, loaded on first use (not yet watching)."""
    global _default_manager
    with _default_manager_lock:
        if _default_manager is None:
            _default_manager = ConfigManager(user_config_path())
            _default_manager.load()
        return _default_manager


default_scheduler = KesScheduler(lambda: default_manager().config)


def simple_karras_exponential_scheduler(n, sigma_min, sigma_max, device="cpu", **kwargs):
    """The WebUI's scheduler signature: the config in force, over the model's sigma range."""
    return default_scheduler(n=n, sigma_min=sigma_min, sigma_max=sigma_max, device=device, **kwargs)
