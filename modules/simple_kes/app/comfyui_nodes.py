"""The ComfyUI node pack over the same core and config file as the WebUI extension.

- ``karras_exponential`` in ComfyUI's scheduler list (KSampler and every node that offers the list),
  computed from the YAML file in force, hot-reloaded by the same watchdog manager as in the WebUI.
- ``KarrasExponentialScheduler``: SIGMAS for SamplerCustom / SamplerCustomAdvanced from the values on
  the node, a preset, or the YAML file; every schedule key is a widget derived from the one
  declaration (``parameters.PARAMETERS``): same defaults, limits and help.
- ``KarrasExponentialSigmasChart``: any SIGMAS drawn against Karras and Exponential, as an IMAGE.

ComfyUI nodes are plain classes with class attributes, so nothing from ComfyUI is imported here; the
pack's ``__init__.py`` hands in ``comfy.samplers`` (``start``). Nothing from the WebUI glue is imported
either. A bad value or a broken file raises ValueError with our message (key, value, allowed range):
ComfyUI reports it as that node's error and goes on with the queue.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import torch

from ..config import KesConfig
from ..generation import ScheduleRecord, sigmas_for_config
from ..parameters import BY_NAME, MODEL_RANGE_PARAMETERS, SHAPE_PARAMETERS, Parameter
from ..validation import validate
from . import default_config, presets
from .chart import ScheduleComparison, reference
from .comfyui_scheduler import register_guide_schedules, register_scheduler
from .controls import from_control_value, to_control_value
from .manager import ConfigManager, LoadResult

logger = logging.getLogger("simple_kes")

SCHEDULER_NAME = "karras_exponential"
CATEGORY = "sampling/custom_sampling/schedulers"
CHART_CATEGORY = "sampling/custom_sampling/sigmas"
LOG_PREFIX = "[Karras Exponential]"

# Where the node's schedule comes from.
CUSTOM = "custom (the values below)"
YAML_FILE = "YAML file (hot-reloaded)"
PRESET_PREFIX = "preset: "
# Every key that shapes the schedule or sets its range: a widget each, in declaration order.
SCHEDULE_PARAMETERS = MODEL_RANGE_PARAMETERS + SHAPE_PARAMETERS
# ComfyUI's number widgets need both ends; an open end of a hard limit gets this far one.
OPEN_LIMIT = 1_000_000
NODE_SOURCE = "KarrasExponentialScheduler"
# Widgets added after the node was published (the blend's schedules).
ADDED_LATER = ("blend_from", "blend_to")


def widget(parameter: Parameter) -> tuple[Any, dict[str, Any]]:
    """A parameter as a ComfyUI widget: its default, its hard limits and its help (a choice: a combo).

    An open lower limit (sigma_max_factor > 0) cannot be a widget's minimum, so the widget stops at 0
    and our check refuses 0 itself. Floats are not rounded to the step: sigma_min's 0.0292 must stay.
    """
    if parameter.choices:
        return list(parameter.choices), {"default": parameter.default, "tooltip": widget_help(parameter)}
    low = 0.0 if parameter.optional else max(parameter.minimum, -OPEN_LIMIT)
    spec = {
        "default": to_control_value(parameter, parameter.default),
        "min": low,
        "max": min(parameter.maximum, OPEN_LIMIT),
        "step": parameter.ui_step,
        "tooltip": widget_help(parameter),
    }
    if parameter.kind is int:
        return "INT", {**spec, "min": int(spec["min"]), "max": int(spec["max"]), "step": 1}
    return "FLOAT", {**spec, "round": False}


def widget_help(parameter: Parameter) -> str:
    text = f"{parameter.help} Allowed: {parameter.describe_limits()}."
    if parameter.suggested:
        text += f" Suggested {parameter.suggested[0]:g} to {parameter.suggested[1]:g}."
    if parameter.optional:
        text += " 0 = the model's."
    return text


def source_choices() -> list[str]:
    """The node's sources: its own widgets, the YAML file, then every preset (yours included)."""
    return [CUSTOM, YAML_FILE, *(PRESET_PREFIX + name for name in presets.preset_paths())]


def config_in_force(manager: ConfigManager) -> Any:
    """The YAML file's config; while the file has an error, that error (nothing runs on stale values)."""
    if manager.last_error:
        raise ValueError(f"{manager.last_error}. This prompt stops here instead of sampling with those older "
                         "values; fix the file and queue it again.")
    return manager.config


def node_config(source: str, values: dict[str, Any], manager: ConfigManager) -> Any:
    """The config a node's source gives: its widgets over the defaults, the YAML file, or a preset."""
    if source == CUSTOM:
        changes = {name: from_control_value(BY_NAME[name], value) for name, value in values.items()}
        # The sweep over step counts is skipped: the schedule for this node's own step count is
        # computed next and refuses a combination that fails there, with the same message.
        return validate(changes, KesConfig(), steps=(), source=f"{NODE_SOURCE} widgets")
    if source == YAML_FILE:
        return config_in_force(manager)
    if source.startswith(PRESET_PREFIX):
        name = source[len(PRESET_PREFIX):]
        try:
            return KesConfig().with_values(presets.preset_values(name))
        except KeyError as missing:
            raise ValueError(f"{NODE_SOURCE}: source: {missing.args[0]}") from None
    raise ValueError(f"{NODE_SOURCE}: source: {source!r} is not one of {', '.join(source_choices())}")


def denoised_sigmas(sigmas_for_steps: Any, steps: int, denoise: float) -> torch.Tensor:
    """The last ``steps`` steps of a longer schedule, as ComfyUI's BasicScheduler does for denoise < 1."""
    if denoise <= 0:
        return torch.FloatTensor([])
    total_steps = steps if denoise >= 1 else int(steps / denoise)
    return sigmas_for_steps(total_steps)[-(steps + 1):].cpu()


def model_range(model: Any) -> tuple[float, float]:
    """A ComfyUI MODEL's sigma range (its ``model_sampling`` object)."""
    sampling = model.get_model_object("model_sampling")
    return float(sampling.sigma_min), float(sampling.sigma_max)


class KarrasExponentialScheduler:
    """SIGMAS from the node's widgets, a preset or the YAML file in force, over the model's sigma range."""

    DESCRIPTION = ("Simple Karras Exponential schedule as SIGMAS for SamplerCustom. The source chooses the values: "
                   "the widgets below, a preset, or the extension's YAML file (edits apply to the next queued "
                   "prompt).")
    RETURN_TYPES = ("SIGMAS",)
    FUNCTION = "get_sigmas"
    CATEGORY = CATEGORY
    manager: ConfigManager | None = None  # set by ``start``; the process-wide manager otherwise

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        required = {
            "model": ("MODEL",),
            "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
            "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}),
            "source": (source_choices(), {"default": CUSTOM, "tooltip": (
                "custom: the values below. YAML file: the extension's config file, reloaded when it is saved "
                "(configs/simple_kes.yaml). preset: a shipped or your own preset; the values below are then "
                "not used.")}),
            # Not named "seed": ComfyUI's frontend would add "randomize after each run" to it, and a
            # new value each run would defeat the node's cache and the draws' reproducibility.
            "draw_seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "tooltip": (
                "Seeds the draws of a YAML file that randomizes values; unused otherwise.")}),
        }
        required.update({p.name: widget(p) for p in SCHEDULE_PARAMETERS if p.name not in ADDED_LATER})
        # Optional, so they follow every older widget: a workflow saved before they existed keeps its
        # values in place (the frontend fills widgets by position) and gets their defaults.
        optional = {p.name: widget(p) for p in SCHEDULE_PARAMETERS if p.name in ADDED_LATER}
        return {"required": required, "optional": optional}

    @classmethod
    def IS_CHANGED(cls, source: str = CUSTOM, **_inputs: Any) -> str:
        """What besides the inputs decides the output: the YAML file's config or a preset file's text.

        ComfyUI re-executes the node when this differs from the last run's, so a saved edit of the file
        reaches the next queued prompt even though no input changed.
        """
        if source == YAML_FILE:
            return yaml_fingerprint(cls._manager())
        if source.startswith(PRESET_PREFIX):
            return preset_fingerprint(source[len(PRESET_PREFIX):])
        return ""

    @classmethod
    def _manager(cls) -> ConfigManager:
        return cls.manager or default_config.default_manager()

    def get_sigmas(self, model: Any, steps: int, denoise: float, source: str, draw_seed: int,
                   **values: Any) -> tuple[torch.Tensor]:
        config = node_config(source, values, self._manager())
        sigma_min, sigma_max = model_range(model)

        def schedule(total_steps: int) -> torch.Tensor:
            sigmas, record = sigmas_for_config(total_steps, sigma_min, sigma_max, config, seed=draw_seed)
            report_draw(record)
            return sigmas

        return (denoised_sigmas(schedule, steps, denoise),)


def yaml_fingerprint(manager: ConfigManager) -> str:
    """Changes exactly when the config in force or its error does."""
    state = manager.last_error or repr(sorted(manager.config.to_dict().items()))
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def preset_fingerprint(name: str) -> str:
    path = presets.preset_paths().get(name)
    if path is None:
        return f"no preset named {name}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


class KarrasExponentialSigmasChart:
    """Any SIGMAS drawn against Karras and Exponential with the same step count, as an IMAGE."""

    DESCRIPTION = ("Draws SIGMAS (from any scheduler node) on a log axis next to Karras and Exponential over the "
                   "same range: the model's if a model is connected, else the input's own.")
    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "draw"
    CATEGORY = CHART_CATEGORY

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {
            "required": {
                "sigmas": ("SIGMAS",),
                "width": ("INT", {"default": 960, "min": 320, "max": 4096, "step": 8}),
                "height": ("INT", {"default": 384, "min": 200, "max": 4096, "step": 8}),
            },
            "optional": {"model": ("MODEL", {"tooltip": "marks this model's sigma range; else the input's"})},
        }

    def draw(self, sigmas: torch.Tensor, width: int, height: int, model: Any = None) -> tuple[torch.Tensor]:
        from .raster_chart import image

        comparison = sigmas_comparison(sigmas, model_range(model) if model is not None else None)
        pixels = np.asarray(image(comparison, width, height), dtype=np.float32) / 255.0
        return (torch.from_numpy(pixels)[None],)  # ComfyUI's IMAGE: batch, height, width, RGB in 0..1


def sigmas_comparison(sigmas: torch.Tensor, sigma_range: tuple[float, float] | None) -> ScheduleComparison:
    """``sigmas`` beside Karras and Exponential with as many steps; a part that does not end in 0 (a split
    schedule) is drawn whole."""
    values = [float(value) for value in torch.as_tensor(sigmas).flatten()]
    positive = [value for value in values if value > 0]
    if len(values) < 2 or not positive:
        raise ValueError(f"sigmas: {len(values)} values ({', '.join(f'{v:g}' for v in values[:4])}); "
                         "a chart needs at least 2, one of them above 0")
    if values[-1] != 0:
        values.append(0.0)
    sigma_min, sigma_max = sigma_range or (min(positive), max(positive))
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f"sigmas: the range {sigma_min:g} to {sigma_max:g} is empty; a chart needs sigma_min "
                         "below sigma_max")
    steps = len(values) - 1
    references = tuple(reference(name, steps, sigma_min, sigma_max) for name in ("karras", "exponential"))
    return ScheduleComparison(steps, sigma_min, sigma_max, kes=values, references=references,
                              subject_label="input sigmas")


def schedule_from_file(n: int, sigma_min: float, sigma_max: float, device: Any = "cpu", **_ignored: Any):
    """The scheduler ComfyUI's list calls, k-diffusion style: the YAML file's config over the model range.

    ComfyUI passes no seed to a scheduler, so a file that randomizes draws anew each time; the values
    drawn go to the console, the only record there is of them.
    """
    config = config_in_force(KarrasExponentialScheduler._manager())
    sigmas, record = sigmas_for_config(n, sigma_min, sigma_max, config, device=device)
    report_draw(record)
    return sigmas


def report_draw(record: ScheduleRecord) -> None:
    """One console line for values drawn by a randomizing config: what they were and the seed."""
    if record.draw.values:
        values = ", ".join(f"{name}={value:.6g}" for name, value in record.draw.values.items())
        logger.info("%s drew %s (seed %s)", LOG_PREFIX, values, record.draw.seed)


def report_load(result: LoadResult) -> None:
    """One console line when the file's values change (its errors the manager reports itself)."""
    if result.error is None and result.changed:
        logger.info("%s loaded %s", LOG_PREFIX, KarrasExponentialScheduler._manager().path)


def start(samplers: Any, manager: ConfigManager | None = None) -> str:
    """Watch the config file and add the scheduler to ``samplers`` (``comfy.samplers``); returns how.

    Starting again (the pack loaded twice) keeps one watcher and one console report per load.
    """
    manager = manager or default_config.default_manager()
    KarrasExponentialScheduler.manager = manager
    manager.unsubscribe(report_load)
    manager.subscribe(report_load)
    manager.start()
    mechanism = register_scheduler(samplers, SCHEDULER_NAME, schedule_from_file)
    register_guide_schedules(samplers)
    return mechanism


NODE_CLASS_MAPPINGS = {
    "KarrasExponentialScheduler": KarrasExponentialScheduler,
    "KarrasExponentialSigmasChart": KarrasExponentialSigmasChart,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "KarrasExponentialScheduler": "Karras Exponential Scheduler",
    "KarrasExponentialSigmasChart": "Sigmas Chart (vs Karras, Exponential)",
}
