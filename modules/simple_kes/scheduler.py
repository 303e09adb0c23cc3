"""From a config to sigmas: model range, overrides, seeded draws, and the WebUI-shaped callable."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable, Mapping

import torch

from .config import ConfigError, KesConfig, Problem
from .randomization import Draw, apply_draw, draw_parameters
from .schedule import SD_SIGMA_MAX, SD_SIGMA_MIN, SHAPE_PARAMETERS, get_sigmas_karras_exponential, sweep_problem


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


def sigma_range(config: Any, model_sigma_min: float, model_sigma_max: float) -> tuple[float, float]:
    """The model's sigma range unless the config overrides an end of it."""
    return (model_sigma_min if config.sigma_min is None else config.sigma_min,
            model_sigma_max if config.sigma_max is None else config.sigma_max)


def sigmas_for_config(n: int, sigma_min: float, sigma_max: float, config: Any, *, seed: int | None = None,
                      device: Any = "cpu") -> tuple[torch.Tensor, ScheduleRecord]:
    """The schedule for ``config`` over the model range [sigma_min, sigma_max], and its record."""
    draw = draw_parameters(config, seed)
    try:
        effective = apply_draw(config, draw)
    except ConfigError as error:
        raise ValueError(f"randomized values {draw.values} (seed {draw.seed}) are not valid: {error}") from None
    low, high = sigma_range(effective, sigma_min, sigma_max)
    sigmas = get_sigmas_karras_exponential(n, low, high, device=device, **shape_of(effective))
    return sigmas, ScheduleRecord(config=effective, draw=draw, sigma_min=low, sigma_max=high)


def schedule_problems(config: Any) -> list[Problem]:
    """Check that the config's own values give a valid schedule for 1 to 200 steps.

    Uses the config's sigma overrides, else the SD 1.x/SDXL range; randomized values are checked
    when they are drawn.
    """
    low, high = sigma_range(config, SD_SIGMA_MIN, SD_SIGMA_MAX)
    if low >= high:
        side = "sigma_min" if config.sigma_min is not None else "sigma_max"
        return [Problem(side, f"the sigma range {low:g} to {high:g} is empty for an SD model; "
                              "sigma_min must be below sigma_max")]
    try:
        message = sweep_problem(low, high, shape_of(config))
    except ValueError as error:
        message = str(error)
    return [Problem(None, message)] if message else []


class KesScheduler:
    """The function the WebUI registers: ``(n, sigma_min, sigma_max, device, **ignored) -> sigmas``.

    Reads the config in force from ``get_config`` (memory, no disk access). A generation can set a
    seed and per-generation overrides with ``generation(...)``; ``last_record`` keeps what the last
    schedule was made from, for the infotext.
    """

    def __init__(self, get_config: Callable[[], Any]):
        self._get_config = get_config
        self._local = threading.local()
        self.last_record: ScheduleRecord | None = None

    def __call__(self, n, sigma_min, sigma_max, device="cpu", seed=None, **_ignored) -> torch.Tensor:
        overrides = getattr(self._local, "overrides", None) or {}
        config = self._get_config()
        if overrides:
            config = config.with_values(overrides)
        if seed is None:
            seed = getattr(self._local, "seed", None)
        sigmas, self.last_record = sigmas_for_config(n, sigma_min, sigma_max, config, seed=seed, device=device)
        return sigmas

    def generation(self, seed: int | None = None, overrides: Mapping[str, Any] | None = None) -> "_Generation":
        """Context for one generation on this thread: its seed and values that beat the file's."""
        if overrides:
            KesConfig().with_values(dict(overrides))  # reject unknown keys and bad values up front
        return _Generation(self._local, seed, dict(overrides or {}))


class _Generation:
    def __init__(self, local: threading.local, seed: int | None, overrides: dict[str, Any]):
        self._local, self._seed, self._overrides = local, seed, overrides

    def __enter__(self) -> "_Generation":
        self._saved = (getattr(self._local, "seed", None), getattr(self._local, "overrides", None))
        self._local.seed, self._local.overrides = self._seed, self._overrides
        return self

    def __exit__(self, *exc_info) -> None:
        self._local.seed, self._local.overrides = self._saved
