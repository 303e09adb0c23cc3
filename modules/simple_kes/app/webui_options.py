"""What the WebUI glue shows and stores, as plain data: option keys, labels, infotext keys, axes.

Imports nothing from the WebUI, so all of it is tested directly; ``scripts/karras_exponential.py``
only turns it into WebUI objects.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..config import KesConfig
from ..parameters import ANY_SCHEDULE_PARAMETERS, CONTROL_PARAMETERS, INFOTEXT_PARAMETERS, Parameter, Role
from .controls import from_control_value, to_control_value

SCHEDULER_NAME = "karras_exponential"
# Neither the label nor the name is a suffix of any sampler name, so the WebUI's
# "<sampler> <scheduler>" parsing can never split a sampler name on it.
SCHEDULER_LABEL = "Karras Exponential"
# Shown under "Stable Diffusion", next to the WebUI's own sampler parameters.
SETTINGS_SECTION = ("karras_exponential", "Karras Exponential", "sd")
OPTION_PREFIX = "kes_"
INFOTEXT_PREFIX = "KES "


def option_key(name: str) -> str:
    return OPTION_PREFIX + name


def infotext_key(name: str) -> str:
    """``KES start blend``: letters and spaces only, which the WebUI's infotext parser keeps intact."""
    return INFOTEXT_PREFIX + name.replace("_", " ")


def axis_label(parameter: Parameter) -> str:
    return f"KES {parameter.name.replace('_', ' ')}"


def option_values(config: Any) -> dict[str, Any]:
    """Every Settings option key with the value the config in force gives it."""
    return {option_key(p.name): to_control_value(p, getattr(config, p.name)) for p in CONTROL_PARAMETERS}


def overrides_from_settings(override_settings: Mapping[str, Any]) -> dict[str, Any]:
    """Our keys among a generation's ``override_settings`` (API, pasted infotext, X/Y/Z axes)."""
    overrides = {}
    for parameter in CONTROL_PARAMETERS:
        key = option_key(parameter.name)
        if key in override_settings:
            overrides[parameter.name] = from_control_value(parameter, override_settings[key])
    return overrides


def infotext_entries(effective_config: Any, uses_kes: bool = True, mixes: bool = True) -> dict[str, Any]:
    """Infotext for the values a generation used that differ from the defaults (drawn ones included): every
    key when it used Karras Exponential, else the guidance and mixing keys (they apply to any schedule type);
    the mixing keys only when it has a pass that starts from an image (``mixes``), the only kind they touch."""
    defaults = KesConfig()
    recorded = INFOTEXT_PARAMETERS if uses_kes else ANY_SCHEDULE_PARAMETERS
    return {infotext_key(p.name): getattr(effective_config, p.name) for p in recorded
            if getattr(effective_config, p.name) != getattr(defaults, p.name)
            and (mixes or not p.has(Role.MIXING))}


def uses_scheduler(*scheduler_names: Any) -> bool:
    """Whether any of a generation's schedule types is ours (the WebUI accepts name or label)."""
    return any(name in (SCHEDULER_NAME, SCHEDULER_LABEL) for name in scheduler_names)


def complete_pasted_parameters(params: dict[str, Any], config_in_force: Any) -> None:
    """Make a pasted KES infotext reproduce its schedule whatever the file says now.

    The infotext lists only values that differed from the defaults, so a key it leaves out means
    "default". Where the file in force has something else, add the default explicitly; it then
    arrives as a per-generation override, and the file itself is never rewritten.
    """
    schedule_types = (params.get("Schedule type"), params.get("Hires schedule type"))
    mentions_kes = any(str(key).startswith(INFOTEXT_PREFIX) for key in params)
    # The guidance and mixing keys apply to every schedule type, so any pasted infotext pins them.
    completed = INFOTEXT_PARAMETERS if uses_scheduler(*schedule_types) or mentions_kes else ANY_SCHEDULE_PARAMETERS
    defaults = KesConfig()
    for parameter in completed:
        key = infotext_key(parameter.name)
        default = getattr(defaults, parameter.name)
        if key not in params and getattr(config_in_force, parameter.name) != default:
            params[key] = to_control_value(parameter, default)


@dataclasses.dataclass(frozen=True)
class SettingSpec:
    """One Settings option, described without Gradio: the glue picks the component from ``kind``."""

    key: str
    parameter: Parameter
    label: str
    info: str
    kind: str  # "checkbox", "dropdown" or "slider"
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 0.01
    choices: tuple[str, ...] = ()


def setting_specs(config: Any) -> list[SettingSpec]:
    """One spec per key that does something; slider ranges widen to show a value the file sets outside them."""
    specs = []
    for parameter in CONTROL_PARAMETERS:
        label = f"{parameter.name.replace('_', ' ').capitalize()} ({parameter.name})"
        info = parameter.help
        if parameter.suggested:
            info += f" Suggested {parameter.suggested[0]:g} to {parameter.suggested[1]:g}."
        if parameter.optional:
            info += " 0 = the model's."
        if parameter.kind is bool:
            specs.append(SettingSpec(option_key(parameter.name), parameter, label, info, "checkbox"))
            continue
        if parameter.choices:
            specs.append(SettingSpec(option_key(parameter.name), parameter, label, info, "dropdown",
                                     choices=parameter.choices))
            continue
        value = to_control_value(parameter, getattr(config, parameter.name))
        low, high = parameter.ui_range
        specs.append(SettingSpec(option_key(parameter.name), parameter, label, info, "slider",
                                 minimum=min(low, value), maximum=max(high, value), step=parameter.ui_step))
    return specs
