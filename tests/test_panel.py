"""The tuning panel's callbacks as plain functions, the chart, and the plot command."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest
from hypothesis import given, settings, strategies as st

import simple_kes
from simple_kes.app import panel, presets
from simple_kes.app.chart import compare, svg
from simple_kes.app.plot import figure
from simple_kes.app.manager import ConfigManager
from simple_kes.parameters import CONTROL_PARAMETERS
from cli_harness import Run, run_cli

SD = (20, 0.0292, 14.6146, panel.NO_COMPARISON)


@pytest.fixture
def manager(config_path):
    loaded = ConfigManager(config_path)
    loaded.load()
    return loaded


def shown(manager, **changes):
    """Control values as a page shows them, with some controls moved."""
    specs = panel.panel_specs(manager)
    values = panel.file_values(manager, specs)
    for index, spec in enumerate(specs):
        if spec.parameter.name in changes:
            values[index] = changes[spec.parameter.name]
    return specs, values


def polyline(chart: str, curve: str) -> str:
    return re.search(rf'class="curve-{curve}" points="([^"]*)"', chart).group(1)


def test_redraw_shows_all_three_schedules_the_model_range_and_the_numbers(manager):
    specs, values = shown(manager)
    chart, table, text = panel.redraw(manager, specs, *SD, *values)
    rows = table["data"]
    for curve in ("kes", "karras", "exponential"):
        assert len(polyline(chart, curve).split()) == 20  # the nonzero sigmas; the final 0 has no log
    assert chart.count('class="model-range"') == 2 and "model sigma_min 0.0292" in chart
    assert table["headers"] == ["step", "Karras Exponential", "Karras (rho 7)", "Exponential"]
    assert len(rows) == 21 and rows[-1] == [20, 0.0, 0.0, 0.0]
    expected = simple_kes.sigmas_for_config(20, 0.0292, 14.6146, simple_kes.KesConfig())[0]
    assert [row[1] for row in rows] == pytest.approx(expected.tolist(), rel=1e-5)
    assert text.splitlines()[0] == "step\tkes\tkarras\texponential" and len(text.splitlines()) == 22


def test_the_chart_shows_the_blended_schedules_and_any_schedule_to_compare_with(manager):
    """With other blend schedules the chart and table show those two; Compare with adds a third."""
    specs, values = shown(manager, blend_from="normal", blend_to="gits")
    chart, table, text = panel.redraw(manager, specs, 20, 0.0292, 14.6146, "align_your_steps_32_sdxl", *values)
    assert table["headers"] == ["step", "Karras Exponential", "Normal", "GITS", "Align Your Steps 32 (SDXL)"]
    assert text.splitlines()[0] == "step\tkes\tnormal\tgits\talign_your_steps_32_sdxl"
    expected = simple_kes.named_schedules.get_sigmas("gits", 20, 0.0292, 14.6146)
    assert [row[3] for row in table["data"]] == pytest.approx(expected.tolist(), rel=1e-5)
    for curve in ("kes", "normal", "gits", "align_your_steps_32_sdxl"):
        assert len(polyline(chart, curve).split()) == 20
    assert 'class="curve-karras"' not in chart


def test_moving_a_control_changes_the_kes_curve_only_and_saves_nothing(manager, config_path):
    before = config_path.read_bytes()
    specs, values = shown(manager)
    original = panel.redraw(manager, specs, *SD, *values)[0]
    specs, moved = shown(manager, end_blend=0.9)
    changed = panel.redraw(manager, specs, *SD, *moved)[0]
    assert polyline(changed, "kes") != polyline(original, "kes")
    assert polyline(changed, "karras") == polyline(original, "karras")
    assert config_path.read_bytes() == before


def test_values_that_break_the_schedule_show_why_instead_of_a_curve(manager):
    specs, values = shown(manager, sharpness=3.0)
    chart, table, _ = panel.redraw(manager, specs, 150, 0.0292, 14.6146, panel.NO_COMPARISON, *values)
    assert 'class="curve-kes"' not in chart and "sharpness=3 lifts" in chart
    assert all(row[1] is None for row in table["data"])
    specs, values = shown(manager, sharpness=-1.0)
    chart, table, text = panel.redraw(manager, specs, *SD, *values)
    assert "sharpness: -1 is out of range" in chart and table["data"] == [] and text == ""


def test_save_writes_only_what_changed_keeping_comments(manager, config_path):
    comments = [line for line in config_path.read_text().splitlines() if "#" in line and "sharpness:" not in line]
    specs, values = shown(manager, sharpness=0.9)
    message = panel.save(manager, specs, *values)
    assert message == f"Saved sharpness to {manager.path}."
    text = config_path.read_text()
    assert re.search(r"^sharpness: 0.9 +#", text, re.M)
    assert all(line in text for line in comments), "other lines must stay exactly as they were"
    assert panel.save(manager, specs, *values).startswith("Nothing to save")


def test_save_refuses_a_rejected_value_and_writes_nothing(manager, config_path):
    before = config_path.read_bytes()
    specs, values = shown(manager, sharpness=3.0)
    message = panel.save(manager, specs, *values)
    assert message.startswith("Not saved, the file is unchanged") and "sharpness" in message
    assert config_path.read_bytes() == before


def test_status_names_a_file_under_home_as_the_user_types_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert panel.display_path(tmp_path / ".config" / "kes.yaml") == "~/.config/kes.yaml"
    assert panel.display_path(Path("/etc/kes.yaml")) == "/etc/kes.yaml"


def test_status_names_the_file_and_the_last_error(manager, config_path):
    assert panel.display_path(config_path) in panel.status(manager) and "error" not in panel.status(manager)
    config_path.write_text("sharpness: [\n")
    manager.load()
    assert "has an error; the last good values stay in force" in panel.status(manager)
    assert "not valid YAML" in panel.status(manager)


def test_following_the_file_brings_its_values_and_the_version_they_are_from(manager, config_path):
    """What the lab page's hidden button and "Show the file's values" do: every control at the file's
    value, the chart redrawn, and the status line marked with the version the page compares."""
    with gr.Blocks():
        built = panel.build_panel(manager, elem_prefix="test")
    before = built.follow_file(manager, *SD)
    assert f'data-kes-version="{manager.version}"' in before[-1]
    config_path.write_text(config_path.read_text().replace("start_blend: 0.1 ", "start_blend: 0.3 "))
    manager.load()
    after = built.follow_file(manager, *SD)
    assert len(after) == len(built.file_outputs())
    start_blend = [spec.parameter.name for spec in built.specs].index("start_blend")
    assert (before[start_blend], after[start_blend]) == (0.1, 0.3)
    chart = len(built.controls)
    assert polyline(after[chart], "kes") != polyline(before[chart], "kes")
    assert f'data-kes-version="{manager.version}"' in after[-1] and manager.version == 2


def test_the_lab_serves_the_file_version_its_page_polls(manager, config_path):
    """``/kes/version`` answers with the manager's version, so the page can tell a changed file from an
    unchanged one without touching any component; the server token tells a restarted server."""
    import asyncio

    import httpx

    from simple_kes.app.lab import VERSION_PATH, create_app

    app = create_app(manager)

    async def ask(server) -> dict:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://lab") as client:
            response = await client.get(VERSION_PATH)
            response.raise_for_status()
            return response.json()

    first = asyncio.run(ask(app))
    assert first["version"] == manager.version == 1
    config_path.write_text(config_path.read_text().replace("start_blend: 0.1 ", "start_blend: 0.3 "))
    manager.load()
    assert asyncio.run(ask(app)) == {"version": 2, "server": first["server"]}
    assert asyncio.run(ask(create_app(manager)))["server"] != first["server"]


def test_panel_has_a_control_for_every_key_with_the_declared_ranges(manager):
    """Every key but the retired one, which does nothing and so gets no slider."""
    with gr.Blocks():
        built = panel.build_panel(manager, elem_prefix="test")
    assert "early_stopping_threshold" not in [spec.parameter.name for spec in built.specs]
    assert not any("early_stopping" in (control.elem_id or "") for control in built.controls)
    assert [spec.parameter.name for spec in built.specs] == sorted(
        (p.name for p in CONTROL_PARAMETERS), key=[s.parameter.name for s in built.specs].index)
    assert len(built.controls) == len(CONTROL_PARAMETERS) == len(simple_kes.PARAMETERS) - 1
    sharpness = built.controls[[s.parameter.name for s in built.specs].index("sharpness")]
    assert isinstance(sharpness, gr.Slider) and (sharpness.minimum, sharpness.maximum) == (0.5, 1.5)


def test_chart_is_cheap_enough_to_redraw_on_every_slider_move():
    """Behaviour, not timing: the chart is a few kilobytes of SVG even for 150 steps."""
    chart = svg(compare(simple_kes.KesConfig(), 150, 0.0292, 14.6146))
    assert chart.startswith("<svg") and len(chart) < 20_000


# Shipped schedules a user is likely to chart: the defaults and every preset.
CHARTED = {"defaults": simple_kes.KesConfig(),
           **{name: simple_kes.KesConfig().with_values(presets.preset_values(name)) for name in presets.preset_paths()}}
FONT_SIZE = 12  # the SVG's font-size
CHARACTER_WIDTH = 0.62 * FONT_SIZE  # wider than any sans-serif's average glyph, so the box errs large


def label_boxes(chart: str) -> list[tuple[str, float, float, float, float]]:
    """(text, left, right, top, bottom) of each model-range label, its width estimated from its length."""
    boxes = []
    for match in re.finditer(r'<text class="model-range-label" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)"[^>]*>'
                             r"([^<]*)</text>", chart):
        x, y, anchor, text = float(match[1]), float(match[2]), match[3], match[4]
        width = CHARACTER_WIDTH * len(text)
        left = x if anchor == "start" else x - width
        boxes.append((text, left, left + width, y - FONT_SIZE, y + 3))
    return boxes


def curve_span(points: str, left: float, right: float) -> tuple[float, float]:
    """Lowest and highest y of a polyline between x = left and x = right (exact for straight segments)."""
    vertices = [tuple(map(float, point.split(","))) for point in points.split()]
    ys = [y for x, y in vertices if left <= x <= right]
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:]):
        for edge in (left, right):
            if x0 < edge < x1:
                ys.append(y0 + (y1 - y0) * (edge - x0) / (x1 - x0))
    return (min(ys), max(ys)) if ys else (float("inf"), float("-inf"))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(CHARTED)), steps=st.integers(2, 150))
def test_model_range_labels_stay_clear_of_every_curve(name, steps):
    """The sigma_max label sits on the right and sigma_min's on the left, where the curves are not:
    no curve passes through either label's box, for the defaults and every preset at any step count."""
    chart = svg(compare(CHARTED[name], steps, 0.0292, 14.6146))
    boxes = label_boxes(chart)
    assert [text.split(" ")[1] for text, *_ in boxes] == ["sigma_max", "sigma_min"]
    for curve in ("kes", "karras", "exponential"):
        for text, left, right, top, bottom in boxes:
            low, high = curve_span(polyline(chart, curve), left, right)
            assert high < top or low > bottom, f"{curve} crosses '{text}' at {steps} steps ({name})"


@pytest.mark.parametrize("steps", [2, 3, 5, 7, 150])
def test_the_png_plot_marks_whole_steps_only(steps):
    """A fraction of a step means nothing: with few steps the x axis must not show 0.5, 1.5, ..."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = figure(compare(simple_kes.KesConfig(), steps, 0.0292, 14.6146))
    FigureCanvasAgg(fig).draw()
    axes = fig.axes[0]
    low, high = axes.get_xlim()
    shown = [(tick, label.get_text()) for tick, label in zip(axes.get_xticks(), axes.get_xticklabels())
             if low <= tick <= high]
    assert len(shown) >= 2 and all(float(tick).is_integer() and re.fullmatch(r"\d+", text) for tick, text in shown), shown


def test_plot_command_writes_a_png(tmp_path, config_path, capsys):
    """plot --config FILE --out X.png draws that file's schedule as a PNG (in-process: cli_harness)."""
    out = tmp_path / "kes.png"
    run = run_cli(capsys, "plot", "--steps", "12", "--config", config_path, "--out", out)
    assert run == Run(0, f"wrote {out}\n", "")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_plot_compares_with_karras_over_the_models_range_while_kes_uses_the_files_override(
        tmp_path, config_path, capsys, monkeypatch):
    """The file's sigma_min moves KES's end only; Karras, Exponential and the dashed line keep the flags'
    model range (a regression: plot once drew all three over the overridden range)."""
    drawn = []
    monkeypatch.setattr("simple_kes.app.plot.save_png", lambda comparison, path: drawn.append(comparison))
    config_path.write_text("sigma_min: 0.05\n")
    assert run_cli(capsys, "plot", "--steps", "8", "--config", config_path, "--out", tmp_path / "x.png").code == 0
    [comparison] = drawn
    karras = comparison.references[0]
    assert comparison.model_sigma_min == 0.0292 and karras.name == "karras"
    assert karras.sigmas[-2] == pytest.approx(0.0292)
    assert comparison.kes[-2] < 0.05 * 1.5  # KES ends from the file's 0.05, sharpened and scaled below it


def test_plot_compare_with_draws_a_schedule_of_the_guides_and_refuses_an_unknown_name(
        tmp_path, config_path, capsys, monkeypatch):
    drawn = []
    monkeypatch.setattr("simple_kes.app.plot.save_png", lambda comparison, path: drawn.append(comparison))
    arguments = ("plot", "--steps", "8", "--config", config_path, "--out", tmp_path / "x.png")
    assert run_cli(capsys, *arguments, "--compare-with", "gits").code == 0
    assert [r.name for r in drawn[0].references] == ["karras", "exponential", "gits"]
    refused = run_cli(capsys, *arguments, "--compare-with", "cosine")
    assert refused.code == 2 and "--compare-with: invalid choice: 'cosine'" in refused.err
    assert "Traceback" not in refused.err


def test_plot_command_refuses_values_without_a_valid_schedule(tmp_path, config_path, capsys):
    """A file whose values give no valid schedule is refused in one line naming it, and no PNG is written."""
    config_path.write_text("sharpness: 1.0\nfinal_step_size: 5.0\ninitial_step_size: 0.1\n")
    run = run_cli(capsys, "plot", "--config", config_path, "--out", tmp_path / "x.png")
    assert (run.code, run.out) == (1, "")
    assert run.err.startswith(f"{config_path}: the sigmas would not be strictly decreasing for ")
    assert len(run.err.splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_status_escapes_what_the_file_contains(manager, config_path):
    config_path.write_text("sharpness: <img src=x onerror=alert(1)>\n")
    manager.load()
    assert "<img" not in panel.status(manager) and "&lt;img" in panel.status(manager)
