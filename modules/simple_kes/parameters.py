"""The one declaration of every Simple KES setting.

Validation, the YAML template, the docs' tables, randomization, presets, the infotext, the X/Y/Z
axes and every slider or widget are derived from ``PARAMETERS``: each parameter states its roles,
and every subset of parameters is ``with_role(...)`` of this one tuple. Defaults and suggested
ranges follow ``simple-kes-writeup.txt`` ("Configurable Parameters"); docs/decisions.md says where
we differ. Standard library only: the command line reads it without importing torch.

Two kinds of range are kept apart:
- *hard limits* (``minimum``/``maximum``): what keeps a schedule valid. Validation enforces only these.
- *suggested* ranges: the write-up's advice, shown in help text and used for the default random
  ranges. Going outside them is exploring, not an error.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from .schedule_catalogue import SCHEDULE_NAMES

INFINITY = math.inf
# Stable Diffusion 1.x/2.x/SDXL discrete sigma range, used where no model is at hand.
SD_SIGMA_MIN = 0.0292
SD_SIGMA_MAX = 14.6146


class Role(enum.Enum):
    """What a parameter is for. Each has exactly one of the first six; the last three are uses."""

    SHAPE = "schedule shape"  # a keyword argument of the schedule function
    MODEL_RANGE = "model range"  # overrides one end of the model's sigma range
    RANDOMIZATION = "randomization"  # the master switch and the <name>_rand* keys of the seeded draws
    RETIRED = "retired"  # accepted so old files load; has no effect
    GUIDANCE = "guidance"  # how the samplers combine their predictions (not the schedule)
    MIXING = "iterative mixing"  # hires fix and img2img: mixing the unsampled latent in (not the schedule)
    AXIS = "X/Y/Z axis"  # offered as an X/Y/Z plot axis
    INFOTEXT = "infotext"  # written to an image's infotext when it differs from the default
    PRESET = "preset"  # decided by a preset (applying one sets it)


KINDS = (Role.SHAPE, Role.MODEL_RANGE, Role.RANDOMIZATION, Role.RETIRED, Role.GUIDANCE, Role.MIXING)
# The role sets in use, named for what they describe.
SHAPE_KNOB = frozenset({Role.SHAPE, Role.AXIS, Role.INFOTEXT, Role.PRESET})
MODEL_RANGE_OVERRIDE = frozenset({Role.MODEL_RANGE, Role.INFOTEXT, Role.PRESET})
RANDOMIZATION_KEY = frozenset({Role.RANDOMIZATION})
# The master switch is recorded in the infotext once a draw turned it off, so that pasting the drawn
# values back never draws again from the randomization keys of the file in force.
RANDOMIZATION_SWITCH = frozenset({Role.RANDOMIZATION, Role.INFOTEXT})
RETIRED_KEY = frozenset({Role.RETIRED})
GUIDANCE_CHOICE = frozenset({Role.GUIDANCE, Role.AXIS, Role.INFOTEXT})
MIXING_KEY = frozenset({Role.MIXING, Role.AXIS, Role.INFOTEXT})


class RandomPart(enum.Enum):
    """Which of a randomizable parameter's three keys a randomization key is."""

    SWITCH = "_rand"
    LOW = "_rand_min"
    HIGH = "_rand_max"


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One configuration key: its type, default, hard limits, suggestion and help."""

    name: str
    kind: type  # float, int, bool or str (a choice among ``choices``)
    default: Any
    help: str
    minimum: float = -INFINITY
    maximum: float = INFINITY
    minimum_exclusive: bool = False
    optional: bool = False  # None is allowed and means "use the model's value"
    suggested: tuple[float, float] | None = None
    ui_range: tuple[float, float] = (0.0, 1.0)
    ui_step: float = 0.01
    random_range: tuple[float, float] | None = None  # default <name>_rand_min/max; None = not randomizable
    choices: tuple[str, ...] = ()  # the allowed values of a str parameter
    roles: frozenset[Role] = frozenset()  # required: every parameter states its roles
    # For a randomization key: the parameter it randomizes and which of its keys it is.
    randomizes: str | None = None
    random_part: RandomPart | None = None

    def __post_init__(self) -> None:
        kinds = [role for role in KINDS if role in self.roles]
        if len(kinds) != 1:
            raise TypeError(f"{self.name}: needs exactly one of {[k.value for k in KINDS]}, has {kinds}")
        if (self.randomizes is None) != (self.random_part is None):
            raise TypeError(f"{self.name}: randomizes and random_part go together")
        if (self.kind is str) != bool(self.choices) or (self.choices and self.default not in self.choices):
            raise TypeError(f"{self.name}: a str parameter is a choice among its choices, its default one of them")

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def randomizable(self) -> bool:
        return self.random_range is not None

    @property
    def retired(self) -> bool:
        return Role.RETIRED in self.roles

    def describe_limits(self) -> str:
        """The hard limits in words, for error messages and the README."""
        if self.kind is bool:
            return "true or false"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        noun = "an integer" if self.kind is int else "a number"
        bounds = []
        if self.minimum != -INFINITY:
            bounds.append(f"{'>' if self.minimum_exclusive else '>='} {_format_number(self.minimum)}")
        if self.maximum != INFINITY:
            bounds.append(f"<= {_format_number(self.maximum)}")
        if bounds:
            text = f"{noun} {' and '.join(bounds)}"
        else:
            text = "any whole number" if self.kind is int else "any finite number"
        if self.optional:
            text = f"null (use the model's value) or {text}"
        return text

    def check(self, value: Any) -> str | None:
        """Return why ``value`` is not allowed for this key, or None if it is."""
        if value is None:
            return None if self.optional else f"is empty; allowed: {self.describe_limits()}"
        if self.kind is bool:
            if isinstance(value, bool):
                return None
            return f"{value!r} is not true or false"
        if self.choices:
            return None if value in self.choices else f"{value!r} is not allowed; allowed: {self.describe_limits()}"
        # bool is a subclass of int: `true` where a number belongs is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{value!r} is not a number; allowed: {self.describe_limits()}"
        if self.kind is int and not float(value).is_integer():
            return f"{value!r} is not a whole number; allowed: {self.describe_limits()}"
        if not math.isfinite(value):
            return f"{value!r} is not a finite number; allowed: {self.describe_limits()}"
        too_low = value <= self.minimum if self.minimum_exclusive else value < self.minimum
        if too_low or value > self.maximum:
            return f"{_format_number(value)} is out of range; allowed: {self.describe_limits()}"
        return None

    def coerce(self, value: Any) -> Any:
        """Convert a value that passed ``check`` to this key's Python type."""
        if value is None or self.kind in (bool, str):
            return value
        return self.kind(value)


def _format_number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_DECLARED = (
    Parameter(
        "sigma_min", float, None, optional=True, minimum=0.0, minimum_exclusive=True,
        suggested=(0.01, 0.1), ui_range=(0.0, 1.0), ui_step=0.001, random_range=(0.001, 0.05),
        roles=MODEL_RANGE_OVERRIDE,
        help="Lowest sigma of the blended schedules; null uses the model's (about 0.0292 for SD 1.x/SDXL).",
    ),
    Parameter(
        "sigma_max", float, None, optional=True, minimum=0.0, minimum_exclusive=True,
        suggested=(10.0, 60.0), ui_range=(0.0, 100.0), ui_step=0.1, random_range=(10.0, 60.0),
        roles=MODEL_RANGE_OVERRIDE,
        help="Highest sigma before sigma_max_factor; null uses the model's (about 14.61 for SD 1.x/SDXL).",
    ),
    Parameter(
        "sigma_max_factor", float, 1.1, roles=SHAPE_KNOB, minimum=0.0, minimum_exclusive=True,
        suggested=(1.0, 1.3), ui_range=(0.5, 2.0), random_range=(1.0, 1.3),
        help="sigma_max is multiplied by this before blending; 1.1 gives 10% extra headroom.",
    ),
    Parameter(
        "rho", float, 7.0, roles=SHAPE_KNOB, minimum=0.0, minimum_exclusive=True, suggested=(5.0, 10.0),
        ui_range=(1.0, 20.0), ui_step=0.1, random_range=(5.0, 10.0),
        help="rho of the Karras curve (k-diffusion's 7): lower spends more steps at high noise, higher at low "
             "noise; the Exponential curve is the limit of a very high rho.",
    ),
    Parameter(
        "blend_from", str, "karras", choices=SCHEDULE_NAMES, roles=SHAPE_KNOB,
        help="The schedule the blend starts from (blend position 0): karras (with rho) as the write-up has it, or "
             "any schedule of the guides (docs/schedules.md).",
    ),
    Parameter(
        "blend_to", str, "exponential", choices=SCHEDULE_NAMES, roles=SHAPE_KNOB,
        help="The schedule the blend moves towards (blend position 1): exponential as the write-up has it, or any "
             "schedule of the guides (docs/schedules.md).",
    ),
    Parameter(
        "start_blend", float, 0.1, roles=SHAPE_KNOB, suggested=(0.05, 0.2), ui_range=(0.0, 1.0),
        random_range=(0.05, 0.2),
        help="Blend position at the first step: 0 leans on blend_from (Karras), 1 on blend_to (Exponential).",
    ),
    Parameter(
        "end_blend", float, 0.5, roles=SHAPE_KNOB, suggested=(0.4, 0.6), ui_range=(0.0, 1.0), random_range=(0.4, 0.6),
        help="Blend position at the last step: 0 leans on blend_from (Karras), 1 on blend_to (Exponential).",
    ),
    Parameter(
        "smooth_blend_factor", float, 11.0, roles=SHAPE_KNOB, suggested=(6.0, 11.0), ui_range=(0.0, 50.0), ui_step=0.5,
        random_range=(6.0, 11.0),
        help="Steepness of the sigmoid that turns the blend position into the weight of blend_to.",
    ),
    Parameter(
        "update_interval", int, 1, roles=SHAPE_KNOB, minimum=1, suggested=(1, 15), ui_range=(1, 50), ui_step=1,
        random_range=(5, 10),
        help="Steps the blend position is held before it moves on; 1 updates it every step.",
    ),
    Parameter(
        "initial_step_size", float, 0.9, roles=SHAPE_KNOB, minimum=0.0, minimum_exclusive=True, suggested=(0.5, 1.0),
        ui_range=(0.01, 2.0), random_range=(0.7, 1.0),
        help="Step-size multiplier at the first step.",
    ),
    Parameter(
        "final_step_size", float, 0.2, roles=SHAPE_KNOB, minimum=0.0, suggested=(0.1, 0.3), ui_range=(0.0, 2.0),
        random_range=(0.1, 0.3),
        help="Step-size multiplier at the last step (times step_size_factor).",
    ),
    Parameter(
        "step_size_factor", float, 0.8, roles=SHAPE_KNOB, minimum=0.0, suggested=(0.65, 0.85), ui_range=(0.0, 2.0),
        random_range=(0.65, 0.85),
        help="Scales final_step_size, as the original release did.",
    ),
    Parameter(
        "initial_noise_scale", float, 1.25, roles=SHAPE_KNOB, minimum=0.0, minimum_exclusive=True, suggested=(1.0, 1.5),
        ui_range=(0.01, 3.0), random_range=(1.0, 1.5),
        help="Noise-scale multiplier at the first step.",
    ),
    Parameter(
        "final_noise_scale", float, 0.8, roles=SHAPE_KNOB, minimum=0.0, suggested=(0.6, 1.0), ui_range=(0.0, 3.0),
        random_range=(0.6, 1.0),
        help="Noise-scale multiplier at the last step (times noise_scale_factor).",
    ),
    Parameter(
        "noise_scale_factor", float, 0.9, roles=SHAPE_KNOB, minimum=0.0, suggested=(0.75, 0.95), ui_range=(0.0, 2.0),
        random_range=(0.75, 0.95),
        help="Scales final_noise_scale, as the original release did.",
    ),
    Parameter(
        "sharpness", float, 0.95, roles=SHAPE_KNOB, minimum=0.0, minimum_exclusive=True, suggested=(0.8, 1.0),
        ui_range=(0.5, 1.5), random_range=(0.85, 1.0),
        help="Multiplies every sigma below 1.5 x sigma_min; below 1 ends lower and crisper, 1 is off.",
    ),
    Parameter(
        "early_stopping_threshold", float, 0.01, minimum=0.0, suggested=(0.005, 0.02), roles=RETIRED_KEY,
        ui_range=(0.0, 0.1), ui_step=0.001,
        help="Retired: has no effect, because the WebUI needs exactly steps + 1 sigmas (docs/decisions.md).",
    ),
    Parameter(
        "guidance", str, "cfg", choices=("cfg", "tnr", "tnr_single"), roles=GUIDANCE_CHOICE,
        help="How the samplers combine their predictions, with any sampler and schedule type: cfg is the WebUI's "
             "own CFG; tnr is True Noise Removal from the conditional and unconditional predictions (the CFG scale "
             "applies); tnr_single is True Noise Removal from the conditional prediction alone (no unconditional "
             "pass: half the model evaluations; the CFG scale is not used).",
    ),
    Parameter(
        "iterative_mixing", bool, False, roles=MIXING_KEY,
        help="Hires fix and img2img: unsample the upscaled (or initial) latent along the pass's sigmas and mix it "
             "into the sampler's latent at every step (DemoFusion's skip residual, the seed's iterative mixing). "
             "Off: the passes are the WebUI's own.",
    ),
    Parameter(
        "mixing_schedule", str, "cosine", choices=("cosine", "linear", "logistic"), roles=MIXING_KEY,
        help="How the share of the unsampled latent falls from 1 at the pass's first step: cosine "
             "((1 + cos(pi t / T)) / 2) ** alpha_1, linear 1 - t / T, or the seed's logistic curve.",
    ),
    Parameter(
        "mixing_alpha_1", float, 1.0, roles=MIXING_KEY, minimum=0.0, minimum_exclusive=True, suggested=(0.1, 2.0),
        ui_range=(0.05, 5.0), ui_step=0.05,
        help="Shape of the cosine and logistic mixing: higher mixes in less, sooner (DemoFusion's direction).",
    ),
    Parameter(
        "mixing_stop_at_pct", float, 1.0, roles=MIXING_KEY, minimum=0.0, suggested=(0.5, 1.5), ui_range=(0.0, 3.0),
        help="The mixing ends at this fraction of the pass's steps; above 1 it stretches past the last step, so "
             "some of the unsampled latent is mixed into every step.",
    ),
    Parameter(
        "mixing_normalize_fraction", float, 0.0, roles=MIXING_KEY, minimum=0.0, maximum=1.0, ui_range=(0.0, 1.0),
        help="Remove the per-channel mean of this share of the noisiest unsampled latents from all of them; 0 is "
             "off.",
    ),
    Parameter(
        "mixing_cleanup_denoise", float, 0.0, roles=MIXING_KEY, minimum=0.0, maximum=0.9, suggested=(0.05, 0.25),
        ui_range=(0.0, 0.9),
        help="After the mixing, sample the last part of the schedule again at this denoising strength to clean up "
             "the grain mixing leaves; 0 is off.",
    ),
    Parameter(
        "randomize", bool, True, roles=RANDOMIZATION_SWITCH,
        help="Master switch: a value is drawn only where this and its <name>_rand are both true.",
    ),
)


def _random_parameters(parameter: Parameter) -> tuple[Parameter, ...]:
    """The <name>_rand, <name>_rand_min and <name>_rand_max keys of a randomizable parameter."""
    low, high = parameter.random_range
    limits = dict(
        kind=parameter.kind, minimum=parameter.minimum, maximum=parameter.maximum,
        minimum_exclusive=parameter.minimum_exclusive, ui_range=parameter.ui_range, ui_step=parameter.ui_step,
    )

    def key(part: RandomPart, **fields) -> Parameter:
        return Parameter(f"{parameter.name}{part.value}", roles=RANDOMIZATION_KEY, randomizes=parameter.name,
                         random_part=part, **fields)

    return (
        key(RandomPart.SWITCH, kind=bool, default=False,
            help=f"Draw {parameter.name} from its random range (needs randomize: true)."),
        key(RandomPart.LOW, default=low, help=f"Lowest random {parameter.name}.", **limits),
        key(RandomPart.HIGH, default=high, help=f"Highest random {parameter.name}.", **limits),
    )


RANDOMIZABLE: tuple[Parameter, ...] = tuple(p for p in _DECLARED if p.randomizable)
PARAMETERS: tuple[Parameter, ...] = _DECLARED + tuple(
    key for parameter in RANDOMIZABLE for key in _random_parameters(parameter)
)
BY_NAME: dict[str, Parameter] = {parameter.name: parameter for parameter in PARAMETERS}


def with_role(role: Role) -> tuple[Parameter, ...]:
    """The parameters that have ``role``, in declaration order."""
    return tuple(p for p in PARAMETERS if p.has(role))


def random_key(parameter: Parameter, part: RandomPart) -> str:
    """The name of one of a randomizable parameter's keys (``sharpness_rand_min``, ...)."""
    return f"{parameter.name}{part.value}"


def is_random_key(parameter: Parameter) -> bool:
    """Whether this is one of the <name>_rand* keys (not the master switch)."""
    return parameter.randomizes is not None


# The subsets the rest of the package uses, each derived from the roles.
SHAPE_PARAMETERS = with_role(Role.SHAPE)
MODEL_RANGE_PARAMETERS = with_role(Role.MODEL_RANGE)
GUIDANCE_PARAMETERS = with_role(Role.GUIDANCE)
MIXING_PARAMETERS = with_role(Role.MIXING)
# What applies to a generation whatever its schedule type (recorded and pasted for every one).
ANY_SCHEDULE_PARAMETERS = GUIDANCE_PARAMETERS + MIXING_PARAMETERS
AXIS_PARAMETERS = with_role(Role.AXIS)
INFOTEXT_PARAMETERS = with_role(Role.INFOTEXT)
PRESET_PARAMETERS = with_role(Role.PRESET)
# The keys a user interface offers a control for (Settings, the panel): all but the retired ones.
CONTROL_PARAMETERS = tuple(p for p in PARAMETERS if not p.retired)
# Where the YAML template and the panel put each key: the schedule's own keys, then randomization.
MAIN_PARAMETERS = tuple(p for p in PARAMETERS if not is_random_key(p))
RANDOM_KEYS = tuple(p for p in PARAMETERS if is_random_key(p))
