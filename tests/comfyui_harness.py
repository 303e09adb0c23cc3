"""Load the node pack into the ComfyUI stand-in the way ComfyUI does, and build prompts for its executor."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

STUB_ROOT = Path(__file__).resolve().parent / "comfyui_stub"
PACK_ROOT = Path(__file__).resolve().parents[1]
STUB_MODULES = ("comfy", "comfy_extras", "nodes", "execution")
SCHEDULER = "karras_exponential"


def fresh_comfy(*, version: str = "0.3.64"):
    """Forget every stand-in module, so each test starts from a ComfyUI that has just started.

    ``version="0.3.10"`` gives the scheduler code of the versions before the registry.
    """
    for name in [name for name in sys.modules if name.split(".")[0] in STUB_MODULES]:
        del sys.modules[name]
    if str(STUB_ROOT) not in sys.path:
        sys.path.insert(0, str(STUB_ROOT))
    if version == "0.3.10":
        import comfy
        spec = importlib.util.spec_from_file_location("comfy.samplers", STUB_ROOT / "comfy" / "samplers_0_3_10.py")
        samplers = importlib.util.module_from_spec(spec)
        sys.modules["comfy.samplers"] = samplers
        spec.loader.exec_module(samplers)
        comfy.samplers = samplers
    elif version != "0.3.64":
        raise ValueError(f"no stand-in for ComfyUI {version}")
    import nodes
    return nodes


def load_pack(nodes) -> bool:
    """custom_nodes/<this repository>: what ComfyUI does at start for each folder."""
    return nodes.load_custom_node(str(PACK_ROOT))


def scheduler_prompt(**widgets) -> dict:
    """CheckpointLoaderSimple -> KarrasExponentialScheduler -> SIGMAS, with the node's defaults."""
    from simple_kes.app.comfyui_nodes import KarrasExponentialScheduler
    required = KarrasExponentialScheduler.INPUT_TYPES()["required"]
    inputs = {name: spec[1]["default"] for name, spec in required.items() if len(spec) > 1 and "default" in spec[1]}
    inputs.update({"model": ["1", 0], **widgets})
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny-sd15.safetensors"}},
            "2": {"class_type": "KarrasExponentialScheduler", "inputs": inputs}}
