"""Named presets: YAML files that set the schedule keys.

The shipped presets are package data (``simple_kes/data/presets/``); your own go in a ``presets``
folder beside your config file (``configs/presets/`` in the extension) and win over a shipped one of
the same name. Applying a preset writes its schedule values into the user's file (atomically,
comments kept) and leaves the randomization keys as they are. The tuned presets come from the
preset search in ``benchmarks/`` and are checked by the quality benchmark (docs/presets.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import ConfigError
from ..parameters import PRESET_PARAMETERS
from .config_file import PACKAGE_DATA, read_config, user_config_path

SHIPPED_PRESETS = PACKAGE_DATA / "presets"
PRESET_FOLDER_NAME = "presets"
# The keys a preset decides: the schedule's shape and range, not randomization or retired keys.
PRESET_KEYS = tuple(p.name for p in PRESET_PARAMETERS)
CUSTOM = "custom"


def user_preset_dir() -> Path:
    """The folder of the user's own presets: ``presets/`` beside the user's config file."""
    return user_config_path().parent / PRESET_FOLDER_NAME


def preset_paths() -> dict[str, Any]:
    """Preset name (the file's stem) to file, sorted by name; the user's files win over shipped ones."""
    found = {entry.name[:-len(".yaml")]: entry for entry in SHIPPED_PRESETS.iterdir() if entry.name.endswith(".yaml")}
    folder = user_preset_dir()
    if folder.is_dir():
        found.update({path.stem: path for path in folder.glob("*.yaml")})
    return dict(sorted(found.items()))


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
    return preset_summary_of(preset_paths()[name])


def preset_summary_of(path: Any) -> str:
    """``preset_summary`` of one preset file (its name is the file's stem)."""
    name = path.name[:-len(".yaml")] if path.name.endswith(".yaml") else path.name
    try:
        first_line = path.read_text(encoding="utf-8").partition("\n")[0]
    except UnicodeDecodeError:
        return ""
    prefix = f"# {name}:"
    return first_line[len(prefix):].strip() if first_line.startswith(prefix) else ""


def preset_description(name: str) -> str:
    """What a preset menu says about it: its summary, or that the file has errors and how to see them."""
    if usable_preset_values(name) is None:
        return f"has errors, see python -m simple_kes check --config {preset_paths()[name]}"
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

