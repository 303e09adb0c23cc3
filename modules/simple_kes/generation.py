"""One generation's schedule: the config in force, per-generation values, seeded draws, the model range.

Also the callable a frontend registers as its scheduler (``KesScheduler``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Mapping

import torch

from .config import ConfigError
from .parameters import BY_NAME, SHAPE_PARAMETERS, RandomPart, random_key
from .randomization import Draw, apply_draw, draw_parameters
from .schedule import get_sigmas_karras_exponential
from .validation import validate

# How per-generation values are named in their errors.
PER_GENERATION_SOURCE = "per-generation value"


@dataclasses.dataclass(frozen=True)
class ScheduleRecord:
    """What one schedule was made from: the values in force after draws, and the draw itself."""

    config: Any
    draw: Draw
    sigma_min: float
    sigma_max: float


def shape_of(config: Any) -> dict[str, Any]:
    """The schedule function's keyword arguments taken from a config."""
    return {p.name: getattr(config, p.name) for p in SHAPE_PARAMETERS}


def sigmas_for_config(n: int, sigma_min: float, sigma_max: float, config: Any, *, seed: int | None = None,
                      overrides: Mapping[str, Any] | None = None,
                      device: Any = "cpu") -> tuple[torch.Tensor, ScheduleRecord]:
    """The schedule for ``config`` (and per-generation overrides) over the model range, and its record."""
    effective, draw = resolve(config, overrides, seed)
    low, high = effective.sigma_range(sigma_min, sigma_max)
    sigmas = get_sigmas_karras_exponential(n, low, high, device=device, **shape_of(effective))
    return sigmas, ScheduleRecord(config=effective, draw=draw, sigma_min=low, sigma_max=high)


def resolve(config: Any, overrides: Mapping[str, Any] | None = None, seed: int | None = None) -> tuple[Any, Draw]:
    """The values a generation uses: the config, then per-generation overrides, then the draws.

    An overridden parameter is not drawn: a value pasted from an infotext or set by an X/Y/Z axis
    is meant literally, even where the file randomizes it.
    """
    if overrides:
        switches = [random_key(BY_NAME[name], RandomPart.SWITCH) for name in overrides
                    if name in BY_NAME and BY_NAME[name].randomizable]
        fixed = {switch: False for switch in switches if switch not in overrides}
        config = config.with_values({**overrides, **fixed})
    draw = draw_parameters(config, seed)
    try:
        return apply_draw(config, draw), draw
    except ConfigError as error:
        raise ValueError(f"randomized values {draw.values} (seed {draw.seed}) are not valid: {error}") from None


class KesScheduler:
    """The function the WebUI registers: ``(n, sigma_min, sigma_max, device, **ignored) -> sigmas``.

    Reads the config in force from ``get_config`` (memory, no disk access). The WebUI glue opens a
    generation with its seed and per-generation overrides (``start_generation``) and closes it
    afterwards; ``last_record`` keeps what the last schedule was made from, for the infotext.
    Generations run one at a time in the WebUI, so one slot is enough.
    """

    def __init__(self, get_config: Callable[[], Any]):
        self._get_config = get_config
        self._seed: int | None = None
        self._overrides: dict[str, Any] = {}
        self._refusal: ConfigError | None = None
        self.last_record: ScheduleRecord | None = None

    def __call__(self, n, sigma_min, sigma_max, device="cpu", seed=None, **_ignored) -> torch.Tensor:
        if self._refusal is not None:
            raise self._refusal
        sigmas, self.last_record = sigmas_for_config(n, sigma_min, sigma_max, self._get_config(), device=device,
                                                     seed=self._seed if seed is None else seed,
                                                     overrides=self._overrides)
        return sigmas

    def resolve(self) -> tuple[Any, Draw]:
        """What the open generation will use (for the infotext, before sampling starts)."""
        return resolve(self._get_config(), self._overrides, self._seed)

    def start_generation(self, seed: int | None = None, overrides: Mapping[str, Any] | None = None) -> None:
        """Use this seed and these values (which beat the file's) until ``end_generation``.

        Raises ConfigError (key, value, allowed range) if the values, over the config in force, fail
        any rule. The generation is then refused: until ``end_generation`` every schedule request
        raises the same error, so sampling stops before its first step even where the caller (the
        WebUI's script runner) only reports the first exception and goes on.
        """
        overrides = dict(overrides or {})
        self._seed, self._overrides, self._refusal = seed, {}, None
        if overrides:
            try:
                validate(overrides, self._get_config(), source=PER_GENERATION_SOURCE)
            except ConfigError as error:
                self._refusal = error
                raise
        self._overrides = overrides

    def end_generation(self) -> None:
        self._seed, self._overrides, self._refusal = None, {}, None

    @contextlib.contextmanager
    def generation(self, seed: int | None = None, overrides: Mapping[str, Any] | None = None):
        """``start_generation`` ... ``end_generation`` as a with-block."""
        self.start_generation(seed, overrides)
        try:
            yield self
        finally:
            self.end_generation()
