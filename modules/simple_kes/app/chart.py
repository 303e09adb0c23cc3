"""The schedule next to k-diffusion's Karras and Exponential over the same model range, as numbers
and as the live SVG chart of the lab page and the WebUI panel (``plot.py`` draws the same as a PNG).

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
from ..schedule import get_sigmas_exponential, get_sigmas_karras


@dataclasses.dataclass(frozen=True)
class ScheduleComparison:
    """The nonzero sigmas of KES, Karras (rho 7) and Exponential for one step count and model range."""

    steps: int
    model_sigma_min: float
    model_sigma_max: float
    kes: list[float]
    karras: list[float]
    exponential: list[float]
    error: str | None = None  # why there is no KES curve (a config that fails for this step count)

    def table(self) -> list[list[Any]]:
        """Rows of step, KES, Karras, Exponential (the final 0 included, as the sampler sees it)."""
        rows = []
        for step in range(self.steps + 1):
            kes = self.kes[step] if self.kes else None
            rows.append([step, kes, self.karras[step], self.exponential[step]])
        return rows

    def tsv(self) -> str:
        """The table as tab-separated text, for copying into a spreadsheet."""
        lines = ["step\tkes\tkarras\texponential"]
        lines += ["\t".join("" if value is None else f"{value:.6g}" for value in row) for row in self.table()]
        return "\n".join(lines) + "\n"


def compare(config: Any, steps: int, model_sigma_min: float, model_sigma_max: float,
            seed: int | None = None) -> ScheduleComparison:
    """The three schedules for ``config``; a config that fails for this step count gives no KES curve."""
    karras = get_sigmas_karras(steps, model_sigma_min, model_sigma_max).tolist()
    exponential = get_sigmas_exponential(steps, model_sigma_min, model_sigma_max).tolist()
    try:
        kes = sigmas_for_config(steps, model_sigma_min, model_sigma_max, config, seed=seed)[0].tolist()
        error = None
    except ValueError as problem:
        kes, error = [], str(problem)
    return ScheduleComparison(steps, model_sigma_min, model_sigma_max, kes, karras, exponential, error)


CURVE_STYLES = (  # (label, attribute, colour, stroke width)
    ("Karras (rho 7)", "karras", "#9aa0a6", 1.5),
    ("Exponential", "exponential", "#c7a66b", 1.5),
    ("Karras Exponential", "kes", "#1f6feb", 2.5),
)
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


def svg(comparison: ScheduleComparison, width: int = 960, height: int = 380) -> str:
    """The chart as SVG markup that fills the width of its container (``width`` x ``height`` is its
    drawing size): log-sigma axis, model range dashed and labelled, curves with a tooltip each."""
    left, right, top, bottom = 58, 16, 28, 40
    curves = {attribute: getattr(comparison, attribute)[:-1] for _, attribute, _, _ in CURVE_STYLES}
    positive = [value for values in curves.values() for value in values if value > 0]
    positive += [comparison.model_sigma_min, comparison.model_sigma_max]
    low_decade = math.floor(math.log10(min(positive)))
    high_decade = math.ceil(math.log10(max(positive)))
    last_step = max(comparison.steps - 1, 1)

    def x(step: float) -> float:
        return left + (width - left - right) * step / last_step

    def y(sigma: float) -> float:
        fraction = (math.log10(sigma) - low_decade) / (high_decade - low_decade)
        return top + (height - top - bottom) * (1 - fraction)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="kes-chart" width="100%" '
             f'viewBox="0 0 {width} {height}" style="display:block;max-width:100%;height:auto" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for decade in range(low_decade, high_decade + 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(10 ** decade):.1f}" y2="{y(10 ** decade):.1f}" '
                     f'stroke="#e5e7eb"/><text x="{left - 6}" y="{y(10 ** decade) + 4:.1f}" text-anchor="end">'
                     f'{10 ** decade:g}</text>')
    for step in _step_ticks(comparison.steps):
        parts.append(f'<text x="{x(step):.1f}" y="{height - bottom + 16}" text-anchor="middle">{step}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">step</text>')
    parts.append(f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2})">sigma (log scale)</text>')
    for label in model_range_labels(comparison):
        text_x = left + 4 + (width - left - right - 8) * label.position
        parts.append(f'<line class="model-range" x1="{left}" x2="{width - right}" y1="{y(label.sigma):.1f}" '
                     f'y2="{y(label.sigma):.1f}" stroke="{MODEL_RANGE_COLOUR}" stroke-dasharray="5 4"/>'
                     f'<text class="model-range-label" x="{text_x:.1f}" y="{y(label.sigma) - 4:.1f}" '
                     f'text-anchor="{"start" if label.anchor == "left" else "end"}" '
                     f'fill="{MODEL_RANGE_COLOUR}">{label.text}</text>')
    for label, attribute, colour, stroke in CURVE_STYLES:
        points = " ".join(f"{x(step):.1f},{y(sigma):.1f}" for step, sigma in enumerate(curves[attribute]) if sigma > 0)
        if points:
            parts.append(f'<polyline class="curve-{attribute}" points="{points}" fill="none" stroke="{colour}" '
                         f'stroke-width="{stroke}"><title>{label}</title></polyline>')
    for index, (label, _, colour, _) in enumerate(CURVE_STYLES):
        parts.append(f'<rect x="{left + 8 + 170 * index}" y="8" width="14" height="4" fill="{colour}"/>'
                     f'<text x="{left + 26 + 170 * index}" y="14">{label}</text>')
    if comparison.error:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MODEL_RANGE_COLOUR}">'
                     'no valid KES schedule for these values</text>')
    parts.append("</svg>")
    return "".join(parts)


def _step_ticks(steps: int) -> list[int]:
    spacing = next(size for size in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10 ** 9)
                   if steps / size <= 10)
    return list(range(0, max(steps - 1, 0) + 1, spacing))
