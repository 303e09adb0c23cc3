"""An installed copy of the package (a wheel, not the extension folder) finds its template and presets
through importlib.resources and keeps the user's files in the user's config directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

INSTALLED_RUN = """
import json, sys
import simple_kes
from simple_kes.app import config_file, presets
print(json.dumps({
    "package": simple_kes.__file__,
    "template_loads": config_file.parse_config_text(config_file.template_text(), "t") == simple_kes.KesConfig(),
    "presets": sorted(presets.preset_paths()),
    "tuned_euler_rho": presets.preset_values("tuned-euler")["rho"],
    "is_checkout": config_file.is_checkout(),
    "user_config": str(config_file.user_config_path()),
}))
"""


@pytest.mark.slow
def test_a_wheel_carries_the_data_and_an_installed_copy_finds_it(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "wheel"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"simple_kes/data/defaults.yaml", "simple_kes/data/presets/faithful.yaml",
            "simple_kes/data/presets/tuned-euler.yaml"} <= set(names)
    assert not [name for name in names if name.startswith(("configs/", "tests/", "scripts/"))]

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    environment = {**os.environ, "PYTHONPATH": str(site), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    environment.pop("SIMPLE_KES_CONFIG", None)
    run = subprocess.run([sys.executable, "-c", INSTALLED_RUN], capture_output=True, text=True, timeout=120,
                         env=environment, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert found["package"].startswith(str(site)), "the installed copy, not the checkout, was imported"
    assert found["template_loads"] and found["presets"] == ["faithful", "tuned-euler"]
    assert found["tuned_euler_rho"] == 6.809
    assert found["is_checkout"] is False
    assert found["user_config"] == str(tmp_path / "xdg" / "karras-exponential" / "simple_kes.yaml")
