"""Karras Exponential as a ComfyUI node pack (this folder cloned into ComfyUI's custom_nodes/).

ComfyUI imports this file; the WebUI never does (it loads scripts/). Thin glue: the nodes live in
``simple_kes.app.comfyui_nodes`` (the schedule) and ``comfyui_mixing_nodes`` (iterative mixing), the maths
and the config file in the same core the WebUI uses.
"""

import logging
import os
import sys

# ComfyUI has no top-level package named `modules`, but the WebUI does, so both frontends put our
# source root on sys.path and import its one package by its own name.
_SOURCE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "modules")
if _SOURCE_ROOT not in sys.path:
    sys.path.append(_SOURCE_ROOT)

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}

try:
    import comfy.samplers
except ModuleNotFoundError:
    # Imported outside ComfyUI: pytest imports this file as the package of the tests below it.
    comfy = None

try:
    import watchdog  # noqa: F401  (the config file's hot reload; install.py installs it)
except ImportError:
    watchdog = None

if comfy is not None and watchdog is None:
    logging.error("[Karras Exponential] needs the watchdog package for its config file: run "
                  "`python -m pip install watchdog` with ComfyUI's Python (ComfyUI-Manager does it when it "
                  "installs the pack), then restart. The nodes and the scheduler are not loaded.")
elif comfy is not None:
    from simple_kes.app import comfyui_mixing_nodes, comfyui_nodes

    comfyui_nodes.start(comfy.samplers)
    NODE_CLASS_MAPPINGS = {**comfyui_nodes.NODE_CLASS_MAPPINGS, **comfyui_mixing_nodes.NODE_CLASS_MAPPINGS}
    NODE_DISPLAY_NAME_MAPPINGS = {**comfyui_nodes.NODE_DISPLAY_NAME_MAPPINGS,
                                  **comfyui_mixing_nodes.NODE_DISPLAY_NAME_MAPPINGS}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
