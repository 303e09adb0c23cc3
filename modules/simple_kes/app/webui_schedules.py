"""Which schedules of the guides become Schedule type entries in a WebUI: those it lacks, by name.

A WebUI that already has a schedule (A1111 1.10's Align Your Steps, Forge's Align Your Steps 32, ...)
keeps its own entry; we never register a second copy. The Align Your Steps lists come per model, and
a WebUI entry picks SD 1.5's or SDXL's as A1111's own Align Your Steps does (``is_sdxl``).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

from ..schedule_catalogue import BY_NAME, SCHEDULE_NAMES


@dataclasses.dataclass(frozen=True)
class WebuiSchedule:
    name: str
    label: str
    schedule: str  # the catalogue name (for SD 1.5 and everything else)
    sdxl_schedule: str | None = None  # the catalogue name used instead when the model is SDXL
    aliases: tuple[str, ...] = ()  # other names a WebUI has this same schedule under

    @property
    def schedules(self) -> tuple[str, ...]:
        return (self.schedule,) if self.sdxl_schedule is None else (self.schedule, self.sdxl_schedule)


_PER_MODEL = (
    WebuiSchedule("align_your_steps", "Align Your Steps", "align_your_steps_sd15", "align_your_steps_sdxl"),
    WebuiSchedule("align_your_steps_32", "Align Your Steps 32", "align_your_steps_32_sd15", "align_your_steps_32_sdxl"),
    WebuiSchedule("align_your_steps_svd", "Align Your Steps SVD", "align_your_steps_svd"),
)
_ALIASES = {"ddim_uniform": ("ddim",)}  # A1111 calls ComfyUI's ddim_uniform "DDIM"
_ALWAYS_THERE = {"karras", "exponential"}  # every WebUI with a Schedule type has these
# Set on the functions we register, so that a Reload UI tells our entries from the WebUI's own.
OURS = "_karras_exponential_guide_schedule"


def _candidates() -> tuple[WebuiSchedule, ...]:
    covered = {name for entry in _PER_MODEL for name in entry.schedules} | _ALWAYS_THERE
    single = tuple(WebuiSchedule(name, BY_NAME[name].label, name, aliases=_ALIASES.get(name, ()))
                   for name in SCHEDULE_NAMES if name not in covered)
    return _PER_MODEL + single


CANDIDATES = _candidates()


def schedules_to_add(existing: Iterable[tuple[str, str, Iterable[str]]]) -> list[WebuiSchedule]:
    """The entries a WebUI lacks, given its schedulers as (name, label, aliases)."""
    taken = set()
    for name, label, aliases in existing:
        taken |= {name, label, *(aliases or ())}
    return [entry for entry in CANDIDATES if not taken & {entry.name, entry.label, *entry.aliases}]


def sigmas_function(entry: WebuiSchedule, is_sdxl: Callable[[], bool]) -> Callable:
    """The entry's function with the WebUI's signature ``(n, sigma_min, sigma_max, device)``."""
    from ..named_schedules import get_sigmas

    def sigmas(n, sigma_min, sigma_max, device="cpu", **_ignored):
        name = entry.sdxl_schedule if entry.sdxl_schedule and is_sdxl() else entry.schedule
        return get_sigmas(name, n, float(sigma_min), float(sigma_max), device)

    sigmas.__name__ = f"get_sigmas_{entry.name}"
    setattr(sigmas, OURS, True)
    return sigmas
