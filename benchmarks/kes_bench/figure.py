"""The quality figure: ODE error relative to Karras rho 7 against NFE, drawn from the report's numbers.

It shows the same statistic as the ODE-error tables (geometric mean over a group's problems of the
per-problem ratio, the headline denoiser variant), one row of panels per group, so its points at 10
and 20 steps are the tables' cells. Schedules with the same sigmas are drawn once, labelled with all
their names. matplotlib is used without pyplot, so drawing never touches a process's backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

RATIO_TICKS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.5, 2, 3, 5, 10, 20, 50)
BASELINE_STYLE = {"color": "black", "linewidth": 2.2, "linestyle": "-"}


def draw(numbers: Mapping[str, Any], path: Path) -> None:
    """Write the PNG for ``figure_numbers`` (``quality.build_report()['figure']``) to ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    groups = numbers["groups"]
    samplers = list(next(iter(groups.values()))["samplers"])
    figure = Figure(figsize=(5.6 * max(len(samplers), 1), 4.2 * len(groups) + 1.3), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(len(groups), max(len(samplers), 1), squeeze=False)
    colours = _colours(groups)
    labels = _labels(numbers["same_as"])
    for i, (group, data) in enumerate(groups.items()):
        for j, sampler in enumerate(samplers):
            axes = panels[i][j]
            curve_data = data["samplers"][sampler]
            nfe = curve_data["nfe"]
            for name, ratios in curve_data["curves"].items():
                points = [(x, y) for x, y in zip(nfe, ratios) if y is not None]
                if not points:
                    continue
                style = BASELINE_STYLE if name == "Karras rho 7" else {
                    "color": colours[name], "linewidth": 1.4,
                    "linestyle": "-" if name.startswith("KES ") else "--"}
                axes.plot(*zip(*points), marker="o", markersize=3.5, label=labels.get(name, name), **style)
            for steps in numbers["table_steps"]:
                position = curve_data["steps"].index(steps)
                axes.axvline(nfe[position], color="0.6", linewidth=0.8, linestyle=":")
            problems = data["problems"]
            axes.set_title(f"{sampler}, the {len(problems)} {group} problems\n{', '.join(problems)}", fontsize=8.5)
            axes.set_xscale("log")
            axes.set_yscale("log")  # ratios: twice as bad is as far from 1 as twice as good
            axes.yaxis.set_major_locator(FixedLocator(RATIO_TICKS))
            axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            axes.yaxis.set_minor_locator(NullLocator())
            axes.set_xticks(nfe, [str(n) for n in nfe])  # the NFE that ran, as plain numbers
            axes.xaxis.set_minor_formatter(NullFormatter())
            axes.set_xlabel("NFE (dotted: the tables' step counts)")
            axes.set_ylabel("ODE error / Karras rho 7")
            axes.grid(True, which="both", alpha=0.3)
    handles, names = panels[0][0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), fontsize=8)
    figure.suptitle(f"ODE error relative to Karras rho 7 (below 1 is better): geometric mean over each group's "
                    f"problems, {numbers['variant']} denoiser", fontsize=10.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")


def _colours(groups: Mapping[str, Any]) -> dict[str, Any]:
    """One colour per schedule, the same in every panel."""
    from matplotlib import colormaps

    names = []
    for data in groups.values():
        for curve_data in data["samplers"].values():
            names += [name for name in curve_data["curves"] if name not in names]
    palette = colormaps["tab20"].colors  # the schedules of the guides make more than ten
    return {name: palette[k % len(palette)] for k, name in enumerate(names)}


def _labels(same_as: Mapping[str, str]) -> dict[str, str]:
    """A drawn schedule's legend label names the schedules with the same sigmas too."""
    labels: dict[str, list[str]] = {}
    for name, kept in same_as.items():
        labels.setdefault(kept, [kept]).append(name)
    return {kept: " = ".join(names) for kept, names in labels.items()}
