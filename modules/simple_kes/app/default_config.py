"""The process-wide config in force: the user's file, its manager and the scheduler that reads it.

A frontend process (the WebUI) has one user config; this module holds its manager, created and
loaded on first use, and the scheduler callable the frontend registers.
"""

from __future__ import annotations

import threading

from ..generation import KesScheduler
from .config_file import user_config_path
from .manager import ConfigManager

_manager: ConfigManager | None = None
_manager_lock = threading.Lock()


def default_manager() -> ConfigManager:
    """The manager of the user's config file, loaded on first use (not yet watching)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = ConfigManager(user_config_path())
            _manager.load()
        return _manager


def existing_manager() -> ConfigManager | None:
    """The manager if one was made, without making one."""
    return _manager


default_scheduler = KesScheduler(lambda: default_manager().config)


def simple_karras_exponential_scheduler(n, sigma_min, sigma_max, device="cpu", **kwargs):
    """The WebUI's scheduler signature: the config in force, over the model's sigma range."""
    return default_scheduler(n=n, sigma_min=sigma_min, sigma_max=sigma_max, device=device, **kwargs)
