"""Run by the WebUI at launch (and after "Install from URL"): add what its environment lacks.

The WebUI already provides torch, NumPy, k-diffusion, PyYAML and Gradio; the config manager also needs
watchdog (hot reload). tests/test_layers.py reads every import the WebUI glue can reach and fails if
one needs a distribution missing here. Quick and silent when everything is present.
"""

import launch

REQUIREMENTS = {"watchdog": "watchdog>=2.1"}

for distribution, requirement in REQUIREMENTS.items():
    if not launch.is_installed(distribution):
        launch.run_pip(f"install \"{requirement}\"", f"{distribution} for Karras Exponential")
