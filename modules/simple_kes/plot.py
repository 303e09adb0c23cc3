"""The schedule drawn next to k-diffusion's Karras and Exponential over the same model range.

One figure serves the command line's PNG, the standalone lab page and the WebUI panel. Drawn on a
log-sigma axis with the model's sigma_min and sigma_max marked, because the KES defaults start above
the model's range and end below it, and a user should see that.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered to images only

from k_diffusion.sampling import get_sigmas_exponential, get_sigmas_karras  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .scheduler import sigmas_for_config  # noqa: E402


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


def figure(comparison: ScheduleComparison, width: float = 7.0, height: float = 4.2) -> Figure:
    """Sigma against step on a log axis; the final 0 is left out, since log(0) has no place on it."""
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.add_subplot()
    steps = list(range(comparison.steps))
    axes.plot(steps, comparison.karras[:-1], color="#9aa0a6", linewidth=1.4, marker=".", label="Karras (rho 7)")
    axes.plot(steps, comparison.exponential[:-1], color="#c7a66b", linewidth=1.4, marker=".", label="Exponential")
    if comparison.kes:
        axes.plot(steps, comparison.kes[:-1], color="#1f6feb", linewidth=2.2, marker="o", markersize=3,
                  label="Karras Exponential")
    else:
        axes.text(0.5, 0.5, "no valid KES schedule for these values", transform=axes.transAxes, ha="center",
                  color="#b42318")
    for value, name in ((comparison.model_sigma_max, "model sigma_max"), (comparison.model_sigma_min, "model sigma_min")):
        axes.axhline(value, color="#b42318", linestyle="--", linewidth=0.9)
        axes.annotate(f"{name} {value:g}", (1.0, value), xycoords=("axes fraction", "data"), ha="right",
                      va="bottom", fontsize=8, color="#b42318")
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("sigma (log scale)")
    axes.set_title(f"{comparison.steps} steps, model range {comparison.model_sigma_min:g} to "
                   f"{comparison.model_sigma_max:g}", fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    return fig


def save_png(comparison: ScheduleComparison, path: str) -> None:
    figure(comparison).savefig(path, format="png")


# --- the live chart: an inline SVG built from the numbers ----------------------------------------------
# A browser page redraws it as fast as the server can send a few kilobytes; a rendered PNG would cost
# hundreds of milliseconds of matplotlib text layout per slider move.

CURVE_STYLES = (  # (label, attribute, colour, stroke width)
    ("Karras (rho 7)", "karras", "#9aa0a6", 1.5),
    ("Exponential", "exponential", "#c7a66b", 1.5),
    ("Karras Exponential", "kes", "#1f6feb", 2.5),
)
MODEL_RANGE_COLOUR = "#b42318"


def svg(comparison: ScheduleComparison, width: int = 640, height: int = 340) -> str:
    """The same chart as ``figure`` as SVG markup: log-sigma axis, model range dashed and labelled."""
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

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="kes-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
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
    for name, value in (("model sigma_max", comparison.model_sigma_max), ("model sigma_min", comparison.model_sigma_min)):
        parts.append(f'<line class="model-range" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" '
                     f'y2="{y(value):.1f}" stroke="{MODEL_RANGE_COLOUR}" stroke-dasharray="5 4"/>'
                     f'<text x="{width - right}" y="{y(value) - 4:.1f}" text-anchor="end" '
                     f'fill="{MODEL_RANGE_COLOUR}">{name} {value:g}</text>')
    for label, attribute, colour, stroke in CURVE_STYLES:
        points = " ".join(f"{x(step):.1f},{y(sigma):.1f}" for step, sigma in enumerate(curves[attribute]) if sigma > 0)
        if points:
            parts.append(f'<polyline class="curve-{attribute}" points="{points}" fill="none" stroke="{colour}" '
                         f'stroke-width="{stroke}"><title>{label}</title></polyline>')
    for index, (label, _, colour, _) in enumerate(CURVE_STYLES):
        parts.append(f'<rect x="{left + 8 + 150 * index}" y="8" width="14" height="4" fill="{colour}"/>'
                     f'<text x="{left + 26 + 150 * index}" y="14">{label}</text>')
    if comparison.error:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MODEL_RANGE_COLOUR}">'
                     'no valid KES schedule for these values</text>')
    parts.append("</svg>")
    return "".join(parts)


def _step_ticks(steps: int) -> list[int]:
    spacing = next(size for size in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10 ** 9)
                   if steps / size <= 10)
    return list(range(0, max(steps - 1, 0) + 1, spacing))
