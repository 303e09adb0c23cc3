"""Shared fixtures: every test must leave no thread behind (the watchdog tests' rule)."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest

# k-diffusion's own imports (clip-anytorch, jsonmerge) raise deprecation warnings we cannot fix;
# import it once here so that the warnings-are-errors setting applies to our code only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import k_diffusion  # noqa: F401

# tqdm starts a process-wide monitor thread with its first progress bar (the learned benchmark's samplers
# reach one) and never stops it; without it, the first test to make a bar would be blamed for a leak.
import tqdm  # noqa: E402

tqdm.tqdm.monitor_interval = 0

import simple_kes  # noqa: E402
from simple_kes.app import config_file, default_config  # noqa: E402
from simple_kes.app.config_file import template_text  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--update-screenshot", action="store_true",
                     help="write the lab page's screenshot to docs/images/lab.png (tests/test_lab_browser.py)")


@pytest.fixture(autouse=True)
def _no_thread_leaks():
    before = set(threading.enumerate())
    yield
    leaked = [thread for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    for thread in leaked:
        thread.join(timeout=2)
    still_alive = [thread.name for thread in leaked if thread.is_alive()]
    assert not still_alive, f"threads leaked: {still_alive}"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """A user config file made from the shipped template, in its own folder."""
    path = tmp_path / "kes" / "simple_kes.yaml"
    path.parent.mkdir()
    path.write_text(template_text(), encoding="utf-8")
    return path


@pytest.fixture
def kes_file(config_path, monkeypatch):
    """The user's config for this test; the process-wide manager (a frontend's) is made anew for it."""
    monkeypatch.setenv(config_file.CONFIG_PATH_VARIABLE, str(config_path))
    monkeypatch.setattr(default_config, "_manager", None)
    yield config_path
    if default_config.existing_manager() is not None:
        default_config.existing_manager().stop()


@pytest.fixture
def webui(kes_file):
    """The WebUI stand-in, started with the extension loaded (tests/webui_harness.py)."""
    from fastapi import FastAPI
    from webui_harness import WebUI, fresh_stub_modules

    fresh_stub_modules()
    instance = WebUI()
    instance.start(FastAPI())
    yield instance
    instance.shutdown()


@pytest.fixture
def comfyui(kes_file):
    """The ComfyUI stand-in, started with the pack loaded (tests/comfyui_harness.py); its config file is this
    test's. Yields ComfyUI's ``nodes`` module."""
    from comfyui_harness import fresh_comfy, load_pack
    from simple_kes.app.comfyui_nodes import KarrasExponentialScheduler

    nodes = fresh_comfy()
    assert load_pack(nodes)
    yield nodes
    KarrasExponentialScheduler.manager = None
