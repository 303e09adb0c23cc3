"""Run by the WebUI at launch (and after "Install from URL"): add what its environment lacks.

The WebUI already provides torch, k-diffusion and PyYAML; the config manager also needs watchdog
and ruamel.yaml. Quick and silent when both are present.
"""

import launch

REQUIREMENTS = {"watchdog": "watchdog>=2.1", "ruamel.yaml": "ruamel.yaml>=0.17"}

for distribution, requirement in REQUIREMENTS.items():
    if not launch.is_installed(distribution):
        launch.run_pip(f"install \"{requirement}\"", f"{distribution} for Karras Exponential")
