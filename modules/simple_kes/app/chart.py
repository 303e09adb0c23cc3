"""The schedule next to the two it blends (k-diffusion's Karras and Exponential unless the config names
others) and any schedule of the guides, over the same model range, as numbers and as the live SVG chart
of the lab page and the WebUI panel (``plot.py`` draws the same as a PNG with matplotlib,
``raster_chart.py`` as an image with Pillow for ComfyUI; all three share ``ChartLayout``).

Drawn on a log-sigma axis with the model's sigma_min and sigma_max marked, because the KES defaults
start above the model's range and end below it, and a user should see that. No matplotlib here: a
browser page redraws an SVG as fast as the server can send a few kilobytes, where a rendered PNG
cost hundreds of milliseconds of text layout per slider move.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..generation import sigmas_for_config
from ..named_schedules import get_sigmas
from ..schedule_catalogue import BY_NAME as CATALOGUE


@dataclasses.dataclass(frozen=True)
class Reference:
    """A schedule drawn beside the subject for comparison: its catalogue name, label and sigmas."""

    name: str
    label: str
    sigmas: list[float]


@dataclasses.dataclass(frozen=True)
class ScheduleComparison:
    """The nonzero sigmas of KES (the subject) and the reference schedules, for one step count and model range."""

    steps: int
    model_sigma_min: float
    model_sigma_max: float
    kes: list[float]
    references: tuple[Reference, ...]
    error: str | None = None  # why there is no KES curve (a config that fails for this step count)
    subject_label: str = "Karras Exponential"  # what the ``kes`` curve is called (any schedule can take its place)

    def curves(self) -> list[tuple[str, str, list[float]]]:
        """(name, label, sigmas) of every curve: the references, then the subject (drawn on top)."""
        return [(r.name, r.label, r.sigmas) for r in self.references] + [("kes", self.subject_label, self.kes)]

    def curve_styles(self) -> list[tuple[str, str, str, float]]:
        """(label, name, colour, stroke width) of each curve, in drawing order."""
        styles = [(label, name, REFERENCE_COLOURS[index % len(REFERENCE_COLOURS)], 1.5)
                  for index, (name, label, _) in enumerate(self.curves()[:-1])]
        return styles + [(self.subject_label, "kes", SUBJECT_COLOUR, 2.5)]

    def headers(self) -> list[str]:
        return ["step", self.subject_label, *(r.label for r in self.references)]

    def table(self) -> list[list[Any]]:
        """Rows of step, KES, then each reference (the final 0 included, as the sampler sees it)."""
        rows = []
        for step in range(self.steps + 1):
            kes = self.kes[step] if self.kes else None
            rows.append([step, kes, *(r.sigmas[step] for r in self.references)])
        return rows

    def tsv(self) -> str:
        """The table as tab-separated text, for copying into a spreadsheet."""
        lines = ["\t".join(["step", "kes", *(r.name for r in self.references)])]
        lines += ["\t".join("" if value is None else f"{value:.6g}" for value in row) for row in self.table()]
        return "\n".join(lines) + "\n"


def reference(name: str, steps: int, model_sigma_min: float, model_sigma_max: float) -> Reference:
    """A schedule of the guides over the model's range (Karras at k-diffusion's rho 7)."""
    label = "Karras (rho 7)" if name == "karras" else CATALOGUE[name].label
    return Reference(name, label, get_sigmas(name, steps, model_sigma_min, model_sigma_max).tolist())


def compare(config: Any, steps: int, model_sigma_min: float, model_sigma_max: float,
            seed: int | None = None, compare_with: str | None = None) -> ScheduleComparison:
    """KES for ``config`` beside the two schedules it blends (Karras and Exponential unless the config
    names others) and ``compare_with``; a config that fails for this step count gives no KES curve."""
    try:
        kes, record = sigmas_for_config(steps, model_sigma_min, model_sigma_max, config, seed=seed)
        kes, config, error = kes.tolist(), record.config, None
    except ValueError as problem:
        kes, error = [], str(problem)
    names = list(dict.fromkeys([config.blend_from, config.blend_to, *([compare_with] if compare_with else [])]))
    references = tuple(reference(name, steps, model_sigma_min, model_sigma_max) for name in names)
    return ScheduleComparison(steps, model_sigma_min, model_sigma_max, kes, references, error)


# The legend's spacing: the swatch and gaps, and a generous width per character of a 12 px sans-serif label.
LEGEND_GAP, LEGEND_CHARACTER_WIDTH = 40, 6.6
REFERENCE_COLOURS = ("#9aa0a6", "#c7a66b", "#2e9d6a", "#a259c4")
SUBJECT_COLOUR = "#1f6feb"
MODEL_RANGE_COLOUR = "#b42318"


@dataclasses.dataclass(frozen=True)
class RangeLabel:
    """Where a model-range line's label goes: at the side of the chart the curves leave free."""

    sigma: float
    text: str
    position: float  # 0 = the left edge of the plot area, 1 = the right edge
    anchor: str  # "left" or "right": which end of the text sits at ``position``
    vertical: str = "bottom"  # the text sits just above its line


def model_range_labels(comparison: ScheduleComparison) -> list[RangeLabel]:
    """Every curve starts near sigma_max on the left and ends near sigma_min on the right, so the
    sigma_max label goes on the right and the sigma_min label on the left, clear of the curves."""
    return [RangeLabel(comparison.model_sigma_max, f"model sigma_max {comparison.model_sigma_max:g}", 1.0, "right"),
            RangeLabel(comparison.model_sigma_min, f"model sigma_min {comparison.model_sigma_min:g}", 0.0, "left")]


@dataclasses.dataclass(frozen=True)
class ChartLayout:
    """Where things go on a ``width`` x ``height`` drawing of a comparison: a log-sigma axis over whole
    decades that hold every curve and the model range, steps from left to right, margins for the labels."""

    comparison: ScheduleComparison
    width: int
    height: int
    left: int = 58
    right: int = 16
    top: int = 28
    bottom: int = 40

    @property
    def curves(self) -> dict[str, list[float]]:
        """Each curve without its final 0 (log(0) has no place on the axis)."""
        return {name: sigmas[:-1] for name, _, sigmas in self.comparison.curves()}

    @property
    def decades(self) -> range:
        positive = [value for values in self.curves.values() for value in values if value > 0]
        positive += [self.comparison.model_sigma_min, self.comparison.model_sigma_max]
        low, high = math.floor(math.log10(min(positive))), math.ceil(math.log10(max(positive)))
        return range(low, max(high, low + 1) + 1)

    def x(self, step: float) -> float:
        last_step = max(self.comparison.steps - 1, 1)
        return self.left + (self.width - self.left - self.right) * step / last_step

    def y(self, sigma: float) -> float:
        decades = self.decades
        fraction = (math.log10(sigma) - decades[0]) / (decades[-1] - decades[0])
        return self.top + (self.height - self.top - self.bottom) * (1 - fraction)

    def points(self, attribute: str) -> list[tuple[float, float]]:
        """A curve's positive sigmas as drawing coordinates."""
        return [(self.x(step), self.y(sigma)) for step, sigma in enumerate(self.curves[attribute]) if sigma > 0]

    def step_ticks(self) -> list[int]:
        return _step_ticks(self.comparison.steps)

    def range_label_x(self, label: "RangeLabel") -> float:
        return self.left + 4 + (self.width - self.left - self.right - 8) * label.position

    @property
    def plot_middle_y(self) -> float:
        return (self.top + self.height - self.bottom) / 2

    def legend_x(self, index: int) -> float:
        """Where the legend's ``index``-th swatch starts, along the top margin (room for the labels before it)."""
        labels = [label for label, _, _, _ in self.comparison.curve_styles()[:index]]
        return self.left + 8 + sum(LEGEND_GAP + LEGEND_CHARACTER_WIDTH * len(label) for label in labels)


def svg(comparison: ScheduleComparison, width: int = 960, height: int = 380) -> str:
    """The chart as SVG markup that fills the width of its container (``width`` x ``height`` is its
    drawing size): log-sigma axis, model range dashed and labelled, curves with a tooltip each."""
    layout = ChartLayout(comparison, width, height)
    x, y = layout.x, layout.y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="kes-chart" width="100%" '
             f'viewBox="0 0 {width} {height}" style="display:block;max-width:100%;height:auto" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for decade in layout.decades:
        parts.append(f'<line x1="{layout.left}" x2="{width - layout.right}" y1="{y(10 ** decade):.1f}" '
                     f'y2="{y(10 ** decade):.1f}" stroke="#e5e7eb"/><text x="{layout.left - 6}" '
                     f'y="{y(10 ** decade) + 4:.1f}" text-anchor="end">{10 ** decade:g}</text>')
    for step in layout.step_ticks():
        parts.append(f'<text x="{x(step):.1f}" y="{height - layout.bottom + 16}" text-anchor="middle">{step}</text>')
    parts.append(f'<text x="{(layout.left + width - layout.right) / 2}" y="{height - 6}" '
                 f'text-anchor="middle">step</text>')
    parts.append(f'<text x="14" y="{layout.plot_middle_y}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {layout.plot_middle_y})">sigma (log scale)</text>')
    for label in model_range_labels(comparison):
        parts.append(f'<line class="model-range" x1="{layout.left}" x2="{width - layout.right}" '
                     f'y1="{y(label.sigma):.1f}" y2="{y(label.sigma):.1f}" stroke="{MODEL_RANGE_COLOUR}" '
                     f'stroke-dasharray="5 4"/><text class="model-range-label" x="{layout.range_label_x(label):.1f}" '
                     f'y="{y(label.sigma) - 4:.1f}" text-anchor="{"start" if label.anchor == "left" else "end"}" '
                     f'fill="{MODEL_RANGE_COLOUR}">{label.text}</text>')
    for label, attribute, colour, stroke in comparison.curve_styles():
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in layout.points(attribute))
        if points:
            parts.append(f'<polyline class="curve-{attribute}" points="{points}" fill="none" stroke="{colour}" '
                         f'stroke-width="{stroke}"><title>{label}</title></polyline>')
    for index, (label, _, colour, _) in enumerate(comparison.curve_styles()):
        parts.append(f'<rect x="{layout.legend_x(index)}" y="8" width="14" height="4" fill="{colour}"/>'
                     f'<text x="{layout.legend_x(index) + 18}" y="14">{label}</text>')
    if comparison.error:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MODEL_RANGE_COLOUR}">'
                     'no valid KES schedule for these values</text>')
    parts.append("</svg>")
    return "".join(parts)


def _step_ticks(steps: int) -> list[int]:
    spacing = next(size for size in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10 ** 9)
                   if steps / size <= 10)
    return list(range(0, max(steps - 1, 0) + 1, spacing))
