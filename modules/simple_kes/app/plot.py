"""The schedule comparison of ``chart.py`` drawn as a PNG with matplotlib (``python -m simple_kes plot``).

matplotlib is imported here only, when a PNG is drawn, and never switches the backend of a process
that has one: the figure is rendered through its own canvas, with no pyplot involved.
"""

from __future__ import annotations

from typing import Any

from .chart import MODEL_RANGE_COLOUR, ScheduleComparison, model_range_labels


def figure(comparison: ScheduleComparison, width: float = 7.0, height: float = 4.2) -> Any:
    """Sigma against step on a log axis; the final 0 is left out, since log(0) has no place on it."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.add_subplot()
    steps = list(range(comparison.steps))
    curves = {name: sigmas for name, _, sigmas in comparison.curves()}
    for label, name, colour, stroke in comparison.curve_styles():
        values = curves[name][:-1]
        if values:
            axes.plot(steps, values, color=colour, linewidth=stroke, marker="o", markersize=stroke + 0.5,
                      label=label)
    if comparison.error:
        axes.text(0.5, 0.5, "no valid KES schedule for these values", transform=axes.transAxes, ha="center",
                  color=MODEL_RANGE_COLOUR)
    for label in model_range_labels(comparison):
        axes.axhline(label.sigma, color=MODEL_RANGE_COLOUR, linestyle="--", linewidth=0.9)
        axes.annotate(label.text, (label.position, label.sigma), xycoords=("axes fraction", "data"),
                      ha=label.anchor, va=label.vertical, fontsize=8, color=MODEL_RANGE_COLOUR,
                      xytext=(4 if label.anchor == "left" else -4, 0), textcoords="offset points")
    axes.set_yscale("log")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    axes.set_xlabel("step")
    axes.set_ylabel("sigma (log scale)")
    axes.set_title(f"{comparison.steps} steps, model range {comparison.model_sigma_min:g} to "
                   f"{comparison.model_sigma_max:g}", fontsize=10)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    return fig


def save_png(comparison: ScheduleComparison, path: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(comparison)
    FigureCanvasAgg(fig)  # render off-screen whatever backend the process uses
    fig.savefig(path, format="png")
