"""The layers: a light core under the app layer, and two frontends (the WebUI's scripts/, ComfyUI's
__init__.py) that never import each other's modules and need nothing install.py does not install.

The core (``import simple_kes`` and the schedule) may import only the standard library, NumPy,
torch and k-diffusion, so that other frontends (ComfyUI nodes, samplers) can build on it without
the WebUI app's weight. The import graph is checked twice: by running the core with the app's
dependencies blocked, and by reading every import statement (lazy ones inside functions included).
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "modules" / "simple_kes"
CORE_MODULES = ("__init__", "parameters", "config", "validation", "schedule", "randomization", "generation",
                "kdiffusion", "guidance", "mixing", "named_schedules", "schedule_catalogue")
# comfy: only ComfyUI's own copy of k-diffusion, where the k-diffusion distribution is absent.
CORE_THIRD_PARTY = {"numpy", "torch", "k_diffusion", "comfy"}
APP_DEPENDENCIES = ("watchdog", "ruamel", "yaml", "matplotlib", "gradio")
# What every supported WebUI (A1111 1.9+, Forge, reForge) already has in its environment.
WEBUI_PROVIDES = {"modules", "torch", "numpy", "k_diffusion", "yaml", "gradio", "fastapi"}
# What ComfyUI has: k-diffusion as its own copy, comfy.k_diffusion, which the core falls back to.
COMFYUI_PROVIDES = {"comfy", "torch", "numpy", "k_diffusion", "yaml", "PIL"}
# Each frontend's own modules; the other frontend's glue must not reach them.
WEBUI_ONLY = {PACKAGE / "app" / name for name in ("webui_options.py", "panel.py", "lab.py")}
COMFYUI_ONLY = {PACKAGE / "app" / name for name in ("comfyui_nodes.py", "comfyui_scheduler.py", "raster_chart.py")}

CORE_RUN = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None  # importing any of them now raises ImportError
import simple_kes
loaded_by_import = sorted(m for m in ("torch", "k_diffusion", "numpy") if m in sys.modules)
from simple_kes import KesConfig, KesScheduler, get_sigmas_karras_exponential, sigmas_for_config, validate
sigmas = get_sigmas_karras_exponential(10, 0.0292, 14.6146)
config = validate({{"sharpness": 0.9}})
with KesScheduler(lambda: config).generation(seed=1, overrides={{"rho": 6.0}}) as scheduler:
    generated = scheduler(10, 0.0292, 14.6146)
print(json.dumps({{"loaded_by_import": loaded_by_import, "sigmas": len(sigmas), "generated": len(generated)}}))
"""


@pytest.mark.slow
def test_the_core_runs_with_the_app_dependencies_blocked():
    """import simple_kes loads nothing heavy; the schedule, validation and generation need no app module."""
    result = subprocess.run([sys.executable, "-c", CORE_RUN.format(blocked=APP_DEPENDENCIES)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "the core prints nothing on import (k-diffusion's warnings included)"
    assert json.loads(result.stdout) == {"loaded_by_import": [], "sigmas": 11, "generated": 11}


def imported_modules(path: Path) -> set[tuple[int, str]]:
    """Every module an import statement in ``path`` names, as (level, dotted name); level 0 is absolute."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(0, alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found.add((node.level, base))
            # `from . import panel` and `from simple_kes.app import panel` name modules, not attributes.
            found |= {(node.level, f"{base}.{alias.name}".strip(".")) for alias in node.names}
    return found


def package_module(level: int, name: str, importer: Path) -> Path | None:
    """The file of a simple_kes module an import names, or None if it names something else."""
    if level:
        folder = importer.parent
        for _ in range(level - 1):
            folder = folder.parent
        parts = name.split(".") if name else []
    elif name == "simple_kes" or name.startswith("simple_kes."):
        folder, parts = PACKAGE, name.split(".")[1:]
    else:
        return None
    target = folder.joinpath(*parts)
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def import_closure(start: Path) -> tuple[set[Path], set[str]]:
    """The package files reachable from ``start`` through imports, and the top-level outside names."""
    files, outside, pending = set(), set(), [start]
    while pending:
        path = pending.pop()
        if path in files:
            continue
        files.add(path)
        for level, name in imported_modules(path):
            module = package_module(level, name, path)
            if module is not None:
                pending.append(module)
                if module.name != "__init__.py":  # importing a submodule runs its package first
                    pending.append(module.parent / "__init__.py")
            elif level == 0 and not name.startswith("simple_kes"):
                outside.add(name.split(".")[0])
    return files, outside - set(sys.stdlib_module_names) - {"__future__"}


def test_the_core_imports_only_numpy_torch_and_k_diffusion_and_never_the_app():
    """Read every import of the core modules, including the lazy ones inside functions."""
    for name in CORE_MODULES:
        files, outside = import_closure(PACKAGE / f"{name}.py")
        assert outside <= CORE_THIRD_PARTY, (name, outside - CORE_THIRD_PARTY)
        assert not [f for f in files if "app" in f.relative_to(PACKAGE).parts], name


def test_the_core_reaches_comfy_only_for_comfyuis_copy_of_k_diffusion():
    comfy_imports = {name for module in CORE_MODULES for level, name in imported_modules(PACKAGE / f"{module}.py")
                     if level == 0 and name.split(".")[0] == "comfy"}
    assert comfy_imports == {"comfy.k_diffusion", "comfy.k_diffusion.sampling"}


def test_the_webui_path_needs_nothing_that_install_py_does_not_install():
    """Every third-party module the WebUI glue can reach is in the WebUI already or in install.py."""
    files, outside = import_closure(ROOT / "scripts" / "karras_exponential.py")
    assert "matplotlib" not in outside, "the WebUI glue must not import matplotlib (the live chart is SVG)"
    assert PACKAGE / "app" / "plot.py" not in files
    assert not files & COMFYUI_ONLY, "the WebUI glue must not reach ComfyUI's modules"
    assert_installed(outside - WEBUI_PROVIDES - {"comfy"})  # comfy: the core's fallback, never taken there


def test_the_comfyui_path_needs_nothing_that_install_py_does_not_install():
    """The pack's __init__.py reaches neither the WebUI's modules nor Gradio or matplotlib."""
    files, outside = import_closure(ROOT / "__init__.py")
    assert PACKAGE / "app" / "comfyui_nodes.py" in files
    assert not files & WEBUI_ONLY, "the ComfyUI glue must not reach the WebUI's modules"
    assert not {"gradio", "matplotlib", "modules", "fastapi"} & outside
    assert_installed(outside - COMFYUI_PROVIDES)


def assert_installed(modules: set[str]) -> None:
    installed = installer_distributions()
    distributions = importlib.metadata.packages_distributions()
    missing = {module for module in modules if not set(distributions.get(module, [module])) & installed}
    assert missing == set(), f"install.py must install the distributions of {sorted(missing)}"


def installer_distributions() -> set[str]:
    """The distribution names install.py installs when they are missing (its REQUIREMENTS keys)."""
    tree = ast.parse((ROOT / "install.py").read_text(encoding="utf-8"))
    [requirements] = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                      and any(getattr(target, "id", None) == "REQUIREMENTS" for target in node.targets)]
    return set(ast.literal_eval(requirements))


def test_the_closure_finds_lazy_imports_inside_functions(tmp_path):
    """The reader above is what the two tests rely on: it must see an import hidden in a function."""
    module = tmp_path / "lazy.py"
    module.write_text("import os\n\ndef draw():\n    import matplotlib.pyplot as plt\n    from . import sibling\n")
    assert imported_modules(module) == {(0, "os"), (0, "matplotlib.pyplot"), (1, ""), (1, "sibling")}
