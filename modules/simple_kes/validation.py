"""The one validation pipeline: per-key limits, cross-key rules, then the step sweep.

File loads and saves, per-generation values (pasted infotext, X/Y/Z cells, ``override_settings``),
the panel and the command line all call ``validate``, so a value is accepted or refused with the
same message everywhere. The first two stages need only the standard library; torch and
k-diffusion are imported for the sweep, once the cheap rules have passed.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .config import ConfigError, KesConfig, Problem, config_from_mapping
from .parameters import SD_SIGMA_MAX, SD_SIGMA_MIN, SHAPE_PARAMETERS

# "Strictly decreasing" depends on how the keys combine and on the step count, so a config is
# checked by computing its schedule for every step count a user is likely to ask for.
STEP_SWEEP = range(1, 201)


def validate(values: Mapping[str, Any], base: KesConfig | None = None, *, steps: Iterable[int] = STEP_SWEEP,
             source: str | None = None, lines: Mapping[str, int] | None = None) -> KesConfig:
    """``base`` (the defaults when omitted) with ``values`` in place, if it passes every rule.

    Raises ConfigError listing every problem, each with its key, value and allowed range, naming
    ``source`` and, where ``lines`` knows it, the line of the key. ``steps=()`` skips the sweep, for a
    caller that computes and reports the schedule for its own step count right away (the panel's chart).
    """
    try:
        config = config_from_mapping(values, base)
    except ConfigError as error:
        raise error.with_source(source, lines) from None
    problems = sweep_problems(config, steps)
    if problems:
        raise ConfigError(problems).with_source(source, lines)
    return config


def sweep_problems(config: KesConfig, steps: Iterable[int] = STEP_SWEEP) -> list[Problem]:
    """The first step count for which the config's own values give no valid schedule, as a problem.

    Uses the config's sigma overrides, else the SD 1.x/SDXL range; randomized values are checked
    when they are drawn.
    """
    low, high = config.sigma_range(SD_SIGMA_MIN, SD_SIGMA_MAX)
    if low >= high:
        side = "sigma_min" if config.sigma_min is not None else "sigma_max"
        return [Problem(side, f"the sigma range {low:g} to {high:g} is empty for an SD model; "
                              "sigma_min must be below sigma_max")]
    from .schedule import compute_sigmas

    shape = {p.name: getattr(config, p.name) for p in SHAPE_PARAMETERS}
    for n in steps:
        try:
            compute_sigmas(n, low, high, **shape)
        except ValueError as error:
            return [Problem(None, str(error))]
    return []
