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
        if parameter.choices:
            rows.append(f"| `{parameter.name}` | combo | `{spec['default']}` | the [schedules of the guides]"
                        "(schedules.md) | an optional input, after the others |")
            continue
        low, high = (int(end) if float(end).is_integer() else end for end in (spec["min"], spec["max"]))
        note = "0 = the model's" if parameter.optional else ""
        if parameter.minimum_exclusive and not parameter.optional:
            note = f"{low} itself is refused by the node ({parameter.describe_limits()})"
        rows.append(f"| `{parameter.name}` | {kind} | `{spec['default']}` | {low} to {high} | {note} |")
    return "\n".join(rows) + "\n"


def schedule_table() -> str:
    """The schedules of the guides: name, what it was made for, where it comes from."""
    from ..schedule_catalogue import CATALOGUE

    rows = ["| name | label | made for | source |", "|---|---|---|---|"]
    rows += [f"| `{entry.name}` | {entry.label} | {entry.made_for} | {entry.source} |" for entry in CATALOGUE]
    return "\n".join(rows) + "\n"


# The Schedule type names of the WebUIs we checked (read from their modules/sd_schedulers.py).
KNOWN_WEBUIS = {
    "A1111 1.10.1": ("automatic", "uniform", "karras", "exponential", "polyexponential", "sgm_uniform",
                     "kl_optimal", "align_your_steps", "simple", "normal", "ddim", "beta"),
    "Forge (f2.0.1, dfdcbab6)": ("automatic", "uniform", "karras", "exponential", "polyexponential", "sgm_uniform",
                                 "kl_optimal", "align_your_steps", "simple", "normal", "ddim", "beta", "turbo",
                                 "align_your_steps_GITS", "align_your_steps_11", "align_your_steps_32"),
    "reForge (1ad52e40)": ("automatic", "karras", "exponential", "polyexponential", "sinusoidal_sf",
                           "invcosinusoidal_sf", "react_cosinusoidal_dynsf", "uniform", "sgm_uniform", "kl_optimal",
                           "simple", "normal", "ddim", "align_your_steps", "align_your_steps_custom", "beta", "turbo",
                           "cosine", "cosine-exponential blend", "phi", "laplace", "karras dynamic",
                           "align_your_steps_GITS", "align_your_steps_11", "align_your_steps_32"),
}


def webui_entry_table() -> str:
    """Which of our Schedule type entries each checked WebUI gets (the rest it has of its own)."""
    from .webui_schedules import CANDIDATES, schedules_to_add

    rows = ["| entry | " + " | ".join(KNOWN_WEBUIS) + " |", "|---|" + "---|" * len(KNOWN_WEBUIS)]
    added = {webui: {entry.name for entry in schedules_to_add((name, name, ()) for name in names)}
             for webui, names in KNOWN_WEBUIS.items()}
    for entry in CANDIDATES:
        cells = ["added" if entry.name in added[webui] else "its own" for webui in KNOWN_WEBUIS]
        rows.append(f"| {entry.label} (`{entry.name}`) | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
