"""Adds what the frontend's environment lacks; quick and silent when everything is present.

Run by the WebUI at launch (and after "Install from URL"), and by ComfyUI-Manager after it clones the
pack into custom_nodes/ (``python install.py`` with ComfyUI's Python). Both frontends already
provide torch, NumPy, PyYAML and k-diffusion (ComfyUI as its own copy, ``comfy.k_diffusion``); the
config manager also needs watchdog (hot reload). tests/test_layers.py reads every import the glue of
either frontend can reach and fails if one needs a distribution missing here.
"""

import importlib.metadata
import subprocess
import sys

REQUIREMENTS = {"watchdog": "watchdog>=2.1"}


def is_installed(distribution):
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def install_with_pip(requirement, description):
    """Outside the WebUI (ComfyUI-Manager): pip of the Python that runs this file, as the WebUI does."""
    print(f"Installing {description}")
    subprocess.run([sys.executable, "-m", "pip", "install", requirement], check=True)


try:
    import launch  # the WebUI's own installer (A1111, Forge, reForge)
except ImportError:
    launch = None

for distribution, requirement in REQUIREMENTS.items():
    if launch is not None:
        if not launch.is_installed(distribution):
            launch.run_pip(f"install \"{requirement}\"", f"{distribution} for Karras Exponential")
    elif not is_installed(distribution):
        install_with_pip(requirement, f"{distribution} for Karras Exponential")
