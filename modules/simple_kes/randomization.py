"""Seeded, recorded per-parameter randomization (simple-kes-writeup.txt, "Randomization of Parameters").

A parameter is drawn only when ``randomize`` and its ``<name>_rand`` flag are both true (the write-up's
AND; see README). Each parameter draws from its own generator seeded by ``(seed, name)``, so turning
one flag on or off never changes another parameter's draw, and the same seed gives the same values.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
from typing import Any

from .parameters import BY_NAME, RANDOMIZABLE, RandomPart, random_key

# Drawn values are rounded before use so that the number written to the infotext, pasted back,
# gives bit-identical sigmas.
SIGNIFICANT_DIGITS = 6


@dataclasses.dataclass(frozen=True)
class Draw:
    """The values drawn for one generation and the seed they came from."""

    seed: int | None
    values: dict[str, Any]


def enabled_parameters(config: Any) -> list[str]:
    """Names of the parameters this config randomizes."""
    if not config.randomize:
        return []
    return [p.name for p in RANDOMIZABLE if getattr(config, random_key(p, RandomPart.SWITCH))]


def draw_parameters(config: Any, seed: int | None = None) -> Draw:
    """Draw every enabled parameter; without a seed, a fresh one is chosen and recorded."""
    names = enabled_parameters(config)
    if not names:
        return Draw(seed=seed, values={})
    if seed is None:
        seed = secrets.randbits(32)
    return Draw(seed=seed, values={name: _draw_one(config, name, seed) for name in names})


def _draw_one(config: Any, name: str, seed: int) -> Any:
    parameter = BY_NAME[name]
    low = getattr(config, random_key(parameter, RandomPart.LOW))
    high = getattr(config, random_key(parameter, RandomPart.HIGH))
    generator = random.Random(f"simple_kes:{seed}:{name}")
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool):
        return generator.randint(low, high)
    rounded = float(f"{generator.uniform(low, high):.{SIGNIFICANT_DIGITS}g}")
    return min(max(rounded, low), high)


def apply_draw(config: Any, draw: Draw) -> Any:
    """The config with the drawn values in place and randomization switched off."""
    if not draw.values:
        return config
    return dataclasses.replace(config, randomize=False, **draw.values)
