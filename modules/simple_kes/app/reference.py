"""The reference tables of the docs, rendered from the declaration and the command-line parser.

``docs/sync.py`` writes them into README.md and docs/; a test fails when a page differs from them.
"""

from __future__ import annotations

import argparse

from ..parameters import AXIS_PARAMETERS, MAIN_PARAMETERS, RANDOMIZABLE, Role
from .config_file import yaml_value
from .webui_options import axis_label


def parameter_table() -> str:
    """Every key that is not a randomization key: default, hard limit, suggestion, roles, help."""
    rows = ["| key | default | allowed (hard limit) | suggested | roles | what it does |",
            "|---|---|---|---|---|---|"]
    for p in MAIN_PARAMETERS:
        suggested = f"{yaml_value(p.suggested[0])} to {yaml_value(p.suggested[1])}" if p.suggested else ""
        roles = ", ".join(role.value for role in Role if p.has(role))
        rows.append(f"| `{p.name}` | `{yaml_value(p.default)}` | {p.describe_limits()} | {suggested} | {roles} | "
                    f"{p.help} |")
    return "\n".join(rows) + "\n"


def random_range_table() -> str:
    """The randomizable keys and their default random ranges."""
    rows = ["| randomizable key | default `_rand_min` | default `_rand_max` |", "|---|---|---|"]
    rows += [f"| `{p.name}` | `{yaml_value(p.random_range[0])}` | `{yaml_value(p.random_range[1])}` |"
             for p in RANDOMIZABLE]
    return "\n".join(rows) + "\n"


def axis_list() -> str:
    """The X/Y/Z plot axes, as a sentence."""
    labels = [f"*{axis_label(p)}*" for p in AXIS_PARAMETERS]
    return f"{', '.join(labels[:-1])} and {labels[-1]}.\n"


def command_table(parser: argparse.ArgumentParser | None = None) -> str:
    """One row per command of ``python -m simple_kes``: its usage and what it does."""
    from .cli import PROGRAM, build_parser

    parser = parser or build_parser()
    [subcommands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in subcommands._choices_actions}
    rows = ["| command | what it does |", "|---|---|"]
    for name, subparser in subcommands.choices.items():
        usage = " ".join(subparser.format_usage().split())
        usage = usage.removeprefix("usage: ").removeprefix(f"{PROGRAM} ").replace(" [-h]", "")
        rows.append(f"| `{usage}` | {helps[name]} |")
    return "\n".join(rows) + "\n"


def preset_list() -> str:
    """The shipped presets with the line each file opens with (what it is for)."""
    from .presets import SHIPPED_PRESETS, preset_summary_of

    entries = sorted(entry for entry in SHIPPED_PRESETS.iterdir() if entry.name.endswith(".yaml"))
    return "".join(f"- `{entry.name[:-len('.yaml')]}`: {preset_summary_of(entry)}\n" for entry in entries)


def comfyui_widget_table() -> str:
    """The ComfyUI node's widgets for the schedule keys: type, default and the widget's range."""
    from .comfyui_nodes import SCHEDULE_PARAMETERS, widget

    rows = ["| widget | type | default | widget range | note |", "|---|---|---|---|---|"]
    for parameter in SCHEDULE_PARAMETERS:
        kind, spec = widget(parameter)
        low, high = (int(end) if float(end).is_integer() else end for end in (spec["min"], spec["max"]))
        note = "0 = the model's" if parameter.optional else ""
        if parameter.minimum_exclusive and not parameter.optional:
            note = f"{low} itself is refused by the node ({parameter.describe_limits()})"
        rows.append(f"| `{parameter.name}` | {kind} | `{spec['default']}` | {low} to {high} | {note} |")
    return "\n".join(rows) + "\n"
