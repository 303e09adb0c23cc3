"""Load the extension into the WebUI stand-in the way the WebUI does, and replay its lifecycle."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import gradio as gr

STUB_ROOT = Path(__file__).resolve().parent / "webui_stub"
EXTENSION_ROOT = Path(__file__).resolve().parents[1]
EXTENSION_SCRIPT = EXTENSION_ROOT / "scripts" / "karras_exponential.py"
XYZ_SCRIPT = STUB_ROOT / "scripts" / "xyz_grid.py"


def fresh_stub_modules(*, without=()) -> None:
    """Forget every stand-in module, so each test starts from a WebUI that has just started.

    ``without`` names stand-in modules to hide (as on an older WebUI that lacks them).
    """
    for name in [name for name in sys.modules if name == "modules" or name.startswith("modules.")]:
        del sys.modules[name]
    if str(STUB_ROOT) not in sys.path:
        sys.path.insert(0, str(STUB_ROOT))
    for name in without:
        sys.modules[f"modules.{name}"] = None  # import raises ImportError, as for a missing file


class WebUI:
    """The WebUI's side of an extension's life: load, build the UI, generate, reload, shut down."""

    def __init__(self):
        from modules import errors, processing, script_callbacks, script_loading, scripts, shared
        self.errors, self.processing, self.callbacks = errors, processing, script_callbacks
        self.script_loading, self.scripts, self.shared = script_loading, scripts, shared
        self.extension = None
        self.xyz = None
        self.settings_components = {}
        self.app = None

    def load_scripts(self) -> None:
        """Root scripts first (xyz_grid), then the extension with its root on sys.path only meanwhile."""
        self.callbacks.clear_callbacks()
        self.scripts.scripts_data.clear()
        self.xyz = self._load(XYZ_SCRIPT, STUB_ROOT)
        self.extension = self._load(EXTENSION_SCRIPT, EXTENSION_ROOT)

    def _load(self, path: Path, basedir: Path):
        saved_path = sys.path
        if basedir != STUB_ROOT:
            sys.path = [str(basedir)] + sys.path
        try:
            module = self.script_loading.load_module(str(path))
            for value in list(vars(module).values()):
                if inspect.isclass(value) and issubclass(value, self.scripts.Script):
                    self.scripts.scripts_data.append(
                        self.scripts.ScriptClassData(value, str(path), str(basedir), module))
            return module
        finally:
            sys.path = saved_path

    def create_ui(self) -> None:
        """before_ui callbacks, then the Settings page: ui_settings callbacks, reorder, real components."""
        self.callbacks.before_ui_callback()
        self.callbacks.ui_settings_callback()
        self.shared.opts.reorder()
        self.settings_components = {}
        with gr.Blocks() as self.blocks:
            for is_img2img in (False, True):  # the txt2img and img2img tabs build each script's ui()
                for data in self.scripts.scripts_data:
                    script = data.script_class()
                    if script.show(is_img2img) is self.scripts.AlwaysVisible:
                        script.ui(is_img2img)
            for key, info in self.shared.opts.data_labels.items():
                if info.section and info.section[0] == "karras_exponential":
                    self.settings_components[key] = self._component(key, info)

    def _component(self, key, info):
        args = info.component_args() if callable(info.component_args) else info.component_args
        default = info.default
        component = info.component or {bool: gr.Checkbox, int: gr.Number, str: gr.Textbox}[type(default)]
        value = self.shared.opts.data.get(key, default)
        return component(label=info.label, value=value, elem_id=f"setting_{key}", **(args or {}))

    def start(self, app=None) -> None:
        self.load_scripts()
        self.create_ui()
        self.app = app
        self.callbacks.app_started_callback(None, app)

    def reload_ui(self, app=None) -> None:
        """Settings > Reload UI: unload callbacks, then scripts re-executed as new modules, UI rebuilt."""
        self.callbacks.script_unloaded_callback()
        self.start(app)

    def shutdown(self) -> None:
        self.callbacks.script_unloaded_callback()

    def apply_settings(self, changes: dict) -> list[str]:
        """Settings > Apply settings: every component's value goes through opts.set; returns changed keys."""
        values = {key: component.value for key, component in self.settings_components.items()}
        values.update(changes)
        changed = []
        for key, value in values.items():
            info = self.shared.opts.data_labels[key]
            assert self.shared.opts.same_type(value, info.default), key
            if self.shared.opts.set(key, value):
                changed.append(key)
        return changed

    def txt2img(self, **fields):
        """One generation through the stand-in pipeline; returns (p, sigmas per pass)."""
        p = self.processing.StableDiffusionProcessing(**fields)
        return p, self.processing.process_images(p)

    def paste(self, infotext: str) -> dict:
        """PNG Info > Send to txt2img: parse, infotext_pasted callbacks, setting overrides."""
        from modules import infotext_utils
        params = self.processing.parse_generation_parameters(infotext)
        self.callbacks.infotext_pasted_callback(infotext, params)
        overrides = infotext_utils.get_override_settings(params)
        return {"params": params, "override_settings": {setting: value for _, setting, value in overrides}}
