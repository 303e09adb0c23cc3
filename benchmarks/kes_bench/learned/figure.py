"""The learned benchmark's figure: FID and ODE error relative to Karras rho 7 against steps, on the held-out
model at the guided scale, for euler and dpmpp_2m: the summary tables' statistic, so its points at 10 and
20 steps are the tables' cells. matplotlib without pyplot, as the quality figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..figure import BASELINE_STYLE
from ..schedules import BASELINE

METRIC_LABELS = {"fid": "FID / Karras rho 7", "ode_error": "ODE error / Karras rho 7"}


def draw(numbers: Mapping[str, Any], path: Path) -> None:
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = numbers["curves"]
    samplers = list(next(iter(curves.values())))
    figure = Figure(figsize=(5.4 * len(samplers), 4.0 * len(curves) + 1.2), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(curves), len(samplers), squeeze=False)
    names = list(next(iter(next(iter(curves.values())).values())))
    palette = colormaps["tab10"].colors
    colours = {name: palette[k % len(palette)] for k, name in enumerate(names)}
    for i, (metric, by_sampler) in enumerate(curves.items()):
        for j, (sampler, by_schedule) in enumerate(by_sampler.items()):
            axes = panels[i][j]
            for name, ratios in by_schedule.items():
                points = [(n, r) for n, r in zip(numbers["steps"], ratios) if r is not None]
                if not points:
                    continue
                style = BASELINE_STYLE if name == BASELINE else {
                    "color": colours[name], "linewidth": 1.4, "linestyle": "-" if name.startswith("KES ") else "--"}
                axes.plot(*zip(*points), marker="o", markersize=3.5, label=numbers["labels"].get(name, name), **style)
            for steps in numbers["summary_steps"]:
                axes.axvline(steps, color="0.6", linewidth=0.8, linestyle=":")
            axes.set_xscale("log")
            axes.set_yscale("log")  # ratios: 0.5 and 2 equally far from 1, and Beta's outliers do not flatten the rest
            axes.set_xticks(numbers["steps"], [str(n) for n in numbers["steps"]])
            axes.minorticks_off()
            axes.set_title(f"{sampler}", fontsize=9)
            axes.set_xlabel("steps (dotted: the summary's step counts)")
            axes.set_ylabel(METRIC_LABELS[metric])
            axes.grid(True, alpha=0.3)
    handles, labels = panels[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize=8)
    figure.suptitle(f"Learned digit model {numbers['model']} (held out), cfg {numbers['scale']:g}: FID and ODE error "
                    "relative to Karras rho 7 (below 1 is better)", fontsize=10.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
