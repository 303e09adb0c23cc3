"""How a config value sits in a user-interface control, for every frontend (WebUI Settings, the panel,
ComfyUI widgets): a slider or number box cannot be empty, so 0 stands for null ("use the model's")
in the keys that allow null, and a number comes back with its key's type.
"""

from __future__ import annotations

from typing import Any

from ..parameters import Parameter


def to_control_value(parameter: Parameter, value: Any) -> Any:
    """A config value as a control holds it: 0 stands for null ("use the model's")."""
    if parameter.optional and value is None:
        return 0.0
    return value


def from_control_value(parameter: Parameter, value: Any) -> Any:
    """A control's (or an override's) value back in the config's terms; the inverse of ``to_control_value``."""
    if parameter.optional and (value is None or value == 0):
        return None
    if parameter.kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if parameter.kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
