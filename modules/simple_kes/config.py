"""The typed, frozen configuration object and its validation.

``KesConfig`` has one field per key in ``parameters.PARAMETERS`` and refuses to exist with a value
outside the hard limits. Schedule-level checks (would these values give a strictly decreasing
schedule?) live in ``schedule.check_config_schedules`` because they need the schedule itself.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Iterable, Mapping

from .parameters import BY_NAME, PARAMETERS, RANDOMIZABLE, Parameter


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a config: the key (None for the whole file), a message, a line if known."""

    key: str | None
    message: str
    line: int | None = None

    def format(self, source: str | None = None) -> str:
        where = [part for part in (source, f"line {self.line}" if self.line else None) if part]
        prefix = f"{', '.join(where)}: " if where else ""
        return f"{prefix}{self.key}: {self.message}" if self.key else f"{prefix}{self.message}"


class ConfigError(ValueError):
    """A config that was rejected; the config in force stays as it was."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems = tuple(problems)
        self.source = source
        super().__init__("\n".join(problem.format(source) for problem in self.problems))

    def with_source(self, source: str, lines: Mapping[str, int] | None = None) -> "ConfigError":
        """The same problems, naming the file and, where known, the line of each key."""
        lines = lines or {}
        problems = [dataclasses.replace(p, line=p.line or lines.get(p.key)) for p in self.problems]
        return ConfigError(problems, source)


class _ConfigMethods:
    """Behaviour shared by every ``KesConfig`` (the fields come from the declaration)."""

    def __post_init__(self) -> None:
        problems = [Problem(p.name, message) for p in PARAMETERS
                    if (message := p.check(getattr(self, p.name))) is not None]
        if not problems:
            for parameter in PARAMETERS:
                object.__setattr__(self, parameter.name, parameter.coerce(getattr(self, parameter.name)))
            problems = _cross_key_problems(self)
        if problems:
            raise ConfigError(problems)

    def to_dict(self) -> dict[str, Any]:
        """Every key and value, in declaration order."""
        return {parameter.name: getattr(self, parameter.name) for parameter in PARAMETERS}

    def differences(self, other: "KesConfig | None" = None) -> dict[str, Any]:
        """The keys whose value differs from ``other`` (the defaults when omitted)."""
        other = other or KesConfig()
        return {name: value for name, value in self.to_dict().items() if getattr(other, name) != value}

    def with_values(self, values: Mapping[str, Any]) -> "KesConfig":
        """A validated copy with ``values`` replaced; unknown keys are an error."""
        unknown = [unknown_key_problem(key) for key in values if key not in BY_NAME]
        if unknown:
            raise ConfigError(unknown)
        return dataclasses.replace(self, **values)

    def notices(self) -> list[str]:
        """Things that are allowed but probably not what the user meant."""
        notes = []
        for parameter in PARAMETERS:
            if parameter.retired and getattr(self, parameter.name) != parameter.default:
                notes.append(f"{parameter.name} is set but has no effect: {parameter.help}")
        enabled = [p.name for p in RANDOMIZABLE if getattr(self, f"{p.name}_rand")]
        if enabled and not self.randomize:
            notes.append(f"{', '.join(n + '_rand' for n in enabled)} set, but randomize is false: "
                         "nothing is randomized")
        return notes


KesConfig = dataclasses.make_dataclass(
    "KesConfig",
    [(p.name, Any, dataclasses.field(default=p.default)) for p in PARAMETERS],
    bases=(_ConfigMethods,),
    frozen=True,
    namespace={"__doc__": "Every Simple KES setting, validated against its hard limits.",
               "__module__": __name__},
)


def _cross_key_problems(config: Any) -> list[Problem]:
    problems = []
    if config.sigma_min is not None and config.sigma_max is not None and config.sigma_min >= config.sigma_max:
        problems.append(Problem("sigma_min", f"{config.sigma_min:g} must be below sigma_max ({config.sigma_max:g})"))
    for parameter in RANDOMIZABLE:
        low, high = getattr(config, f"{parameter.name}_rand_min"), getattr(config, f"{parameter.name}_rand_max")
        if low > high:
            problems.append(Problem(f"{parameter.name}_rand_min",
                                    f"{low:g} is above {parameter.name}_rand_max ({high:g})"))
    return problems


def unknown_key_problem(key: Any) -> Problem:
    """An unknown key, with the closest known name as a suggestion."""
    if not isinstance(key, str):
        return Problem(None, f"{key!r} is not a setting name")
    if key == "scheduler":
        return Problem(key, "settings go at the top level, not under 'scheduler:' as in the original "
                            "Simple KES file; move them out one level")
    close = difflib.get_close_matches(key, BY_NAME, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return Problem(key, f"unknown setting{hint}")


def config_from_mapping(mapping: Any, base: Any = None) -> Any:
    """Build a config from parsed YAML; keys that are missing take ``base``'s values (the defaults).

    Raises ConfigError listing every problem at once.
    """
    if not isinstance(mapping, dict):
        kind = "empty" if mapping is None else f"a {type(mapping).__name__}, not key: value pairs"
        raise ConfigError([Problem(None, f"the file is {kind}")])
    base = base or KesConfig()
    problems = [unknown_key_problem(key) for key in mapping if key not in BY_NAME]
    known = {key: value for key, value in mapping.items() if key in BY_NAME}
    problems += [Problem(key, message) for key, value in known.items()
                 if (message := BY_NAME[key].check(value)) is not None]
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(base, **known)


def render_template() -> str:
    """The default YAML file: every key with its default and a one-line comment."""
    lines = [
        "# Karras Exponential (Simple KES) settings.",
        "# The WebUI reloads this file when you save it; a broken edit keeps the last good values.",
        "# Each line: key: default  # allowed values; suggested range. What it does.",
        "",
    ]
    lines += [template_line(p) for p in PARAMETERS if not p.name.endswith(("_rand", "_rand_min", "_rand_max"))]
    lines += [
        "",
        "# Randomization: with randomize: true, each <name>_rand: true draws <name> uniformly",
        "# from [<name>_rand_min, <name>_rand_max], seeded by the image seed and written to the infotext.",
    ]
    for parameter in RANDOMIZABLE:
        lines += [template_line(BY_NAME[f"{parameter.name}{suffix}"]) for suffix in ("_rand", "_rand_min", "_rand_max")]
    return "\n".join(lines) + "\n"


def template_line(parameter: Parameter) -> str:
    comment = f"allowed: {parameter.describe_limits()}"
    if parameter.suggested:
        comment += f"; suggested {_yaml_value(parameter.suggested[0])}-{_yaml_value(parameter.suggested[1])}"
    return f"{parameter.name}: {_yaml_value(parameter.default)}  # {comment}. {parameter.help}"


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def render_parameter_table() -> str:
    """The README's table of keys, from the declaration."""
    rows = ["| key | default | allowed (hard limit) | suggested | what it does |", "|---|---|---|---|---|"]
    for p in PARAMETERS:
        if p.name.endswith(("_rand", "_rand_min", "_rand_max")):
            continue
        suggested = f"{_yaml_value(p.suggested[0])} to {_yaml_value(p.suggested[1])}" if p.suggested else ""
        rows.append(f"| `{p.name}` | `{_yaml_value(p.default)}` | {p.describe_limits()} | {suggested} | {p.help} |")
    rows += ["", "| randomizable key | default `_rand_min` | default `_rand_max` |", "|---|---|---|"]
    rows += [f"| `{p.name}` | `{_yaml_value(p.random_range[0])}` | `{_yaml_value(p.random_range[1])}` |"
             for p in RANDOMIZABLE]
    return "\n".join(rows) + "\n"
