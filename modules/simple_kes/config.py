"""The typed, frozen configuration object, its problems and the rules that need no schedule.

``KesConfig`` has one field per key in ``parameters.PARAMETERS`` and refuses to exist with a value
outside the hard limits or against a cross-key rule. ``validation.validate`` adds the step sweep
(would these values give a valid schedule?) and is what every entry point calls. Standard library
only.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Iterable, Mapping

from .parameters import BY_NAME, PARAMETERS, RANDOMIZABLE, RandomPart, random_key


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

    def with_source(self, source: str | None, lines: Mapping[str, int] | None = None) -> "ConfigError":
        """The same problems naming ``source`` and, where known, each key's line, in line order."""
        lines = lines or {}
        problems = [dataclasses.replace(p, line=p.line or lines.get(p.key)) for p in self.problems]
        # Problems without a line (whole-file ones) keep their place after the located ones.
        problems = sorted(problems, key=lambda problem: (problem.line is None, problem.line or 0))
        return ConfigError(problems, source if source is not None else self.source)


class _ConfigMethods:
    """Behaviour shared by every ``KesConfig`` (the fields come from the declaration)."""

    def __post_init__(self) -> None:
        problems = key_problems(self.to_dict())
        if not problems:
            for parameter in PARAMETERS:
                object.__setattr__(self, parameter.name, parameter.coerce(getattr(self, parameter.name)))
            problems = cross_key_problems(self)
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
        """A copy with ``values`` replaced, checked by the per-key and cross-key rules."""
        return config_from_mapping(dict(values), self)

    def sigma_range(self, model_sigma_min: float, model_sigma_max: float) -> tuple[float, float]:
        """The model's sigma range unless this config overrides an end of it."""
        return (model_sigma_min if self.sigma_min is None else self.sigma_min,
                model_sigma_max if self.sigma_max is None else self.sigma_max)

    def notices(self) -> list[str]:
        """Things that are allowed but probably not what the user meant."""
        notes = []
        for parameter in PARAMETERS:
            if parameter.retired and getattr(self, parameter.name) != parameter.default:
                notes.append(f"{parameter.name} is set but has no effect: {parameter.help}")
        switches = [random_key(p, RandomPart.SWITCH) for p in RANDOMIZABLE]
        enabled = [name for name in switches if getattr(self, name)]
        if enabled and not self.randomize:
            notes.append(f"{', '.join(enabled)} set, but randomize is false: nothing is randomized")
        return notes


KesConfig = dataclasses.make_dataclass(
    "KesConfig",
    [(p.name, Any, dataclasses.field(default=p.default)) for p in PARAMETERS],
    bases=(_ConfigMethods,),
    frozen=True,
    namespace={"__doc__": "Every Simple KES setting, validated against its hard limits.",
               "__module__": __name__},
)


def key_problems(values: Mapping[Any, Any]) -> list[Problem]:
    """Per-key rules: every key known, every value within its hard limits (in the order given)."""
    problems = []
    for key, value in values.items():
        if key not in BY_NAME:
            problems.append(unknown_key_problem(key))
        elif (message := BY_NAME[key].check(value)) is not None:
            problems.append(Problem(key, message))
    return problems


def cross_key_problems(config: Any) -> list[Problem]:
    """Rules between keys of a config whose values each passed ``key_problems``."""
    problems = []
    if config.sigma_min is not None and config.sigma_max is not None and config.sigma_min >= config.sigma_max:
        problems.append(Problem("sigma_min", f"{config.sigma_min:g} must be below sigma_max ({config.sigma_max:g})"))
    for parameter in RANDOMIZABLE:
        low_key, high_key = random_key(parameter, RandomPart.LOW), random_key(parameter, RandomPart.HIGH)
        low, high = getattr(config, low_key), getattr(config, high_key)
        if low > high:
            problems.append(Problem(low_key, f"{low:g} is above {high_key} ({high:g})"))
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
    """A config from key: value pairs over ``base`` (the defaults): per-key and cross-key rules only.

    Raises ConfigError listing every problem at once; ``validation.validate`` also sweeps the steps.
    """
    if not isinstance(mapping, dict):
        kind = "empty" if mapping is None else f"a {type(mapping).__name__}, not key: value pairs"
        raise ConfigError([Problem(None, f"the file is {kind}")])
    problems = key_problems(mapping)
    if problems:
        raise ConfigError(problems)
    return dataclasses.replace(base or KesConfig(), **mapping)
