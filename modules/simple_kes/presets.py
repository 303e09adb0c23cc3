"""Named presets: YAML files in configs/presets/ that set the schedule keys.

Applying a preset writes its schedule values into the user's file (atomically, comments kept) and
leaves the randomization keys as they are. The tuned presets come from benchmarks/search_presets.py
and are checked by benchmarks/quality.py; the README documents both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ConfigError
from .config_file import CONFIG_DIR, read_config
from .parameters import SCHEDULE_PARAMETERS

PRESET_DIR = CONFIG_DIR / "presets"
# The keys a preset decides: the schedule's shape and range, not randomization or retired keys.
PRESET_KEYS = tuple(p.name for p in SCHEDULE_PARAMETERS if p.name != "randomize" and not p.retired)
CUSTOM = "custom"


def preset_paths() -> dict[str, Path]:
    """Preset name (the file's stem) to file, sorted by name."""
    return {path.stem: path for path in sorted(PRESET_DIR.glob("*.yaml"))}


def preset_values(name: str) -> dict[str, Any]:
    """The schedule values of a preset (validated like any config file); KeyError for an unknown name."""
    paths = preset_paths()
    if name not in paths:
        raise KeyError(f"no preset named {name!r}; presets: {', '.join(paths) or 'none'}")
    config = read_config(paths[name])
    return {key: getattr(config, key) for key in PRESET_KEYS}


def usable_preset_values(name: str) -> dict[str, Any] | None:
    """``preset_values``, or None for a preset file that does not validate (a user's broken file must
    not break the menus that list the others; applying it still reports why)."""
    try:
        return preset_values(name)
    except ConfigError:
        return None


def preset_summary(name: str) -> str:
    """The one-line description a preset file opens with (``# NAME: what it is for``), or ''."""
    try:
        first_line = preset_paths()[name].read_text(encoding="utf-8").partition("\n")[0]
    except UnicodeDecodeError:
        return ""
    prefix = f"# {name}:"
    return first_line[len(prefix):].strip() if first_line.startswith(prefix) else ""


def preset_description(name: str) -> str:
    """What a preset menu says about it: its summary, or that the file has errors and how to see them."""
    if usable_preset_values(name) is None:
        return f"has errors, see python -m simple_kes check {preset_paths()[name]}"
    return preset_summary(name).rstrip(".")


def preset_guide() -> str:
    """Every preset with its description, for help text next to a preset chooser."""
    return "; ".join(f"{name}: {description}" if (description := preset_description(name)) else name
                     for name in preset_paths())


def with_preset(config: Any, name: str) -> Any:
    """``config`` with a preset's schedule values in place (randomization keys kept)."""
    return config.with_values(preset_values(name))


def matching_preset(config: Any) -> str:
    """The name of the preset whose values ``config`` has, or ``CUSTOM``."""
    for name in preset_paths():
        values = usable_preset_values(name)
        if values is not None and all(getattr(config, key) == value for key, value in values.items()):
            return name
    return CUSTOM

