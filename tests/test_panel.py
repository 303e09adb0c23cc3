"""The tuning panel's callbacks as plain functions, the chart, and the plot command."""

from __future__ import annotations

import re
import subprocess
import sys

import gradio as gr
import pytest

import simple_kes
from simple_kes.app import panel
from simple_kes.app.chart import compare, svg
from simple_kes.app.manager import ConfigManager
from simple_kes.parameters import CONTROL_PARAMETERS

SD = (20, 0.0292, 14.6146)


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
    chart, rows, text = panel.redraw(manager, specs, *SD, *values)
    for curve in ("kes", "karras", "exponential"):
        assert len(polyline(chart, curve).split()) == 20  # the nonzero sigmas; the final 0 has no log
    assert chart.count('class="model-range"') == 2 and "model sigma_min 0.0292" in chart
    assert len(rows) == 21 and rows[-1] == [20, 0.0, 0.0, 0.0]
    expected = simple_kes.sigmas_for_config(20, 0.0292, 14.6146, simple_kes.KesConfig())[0]
    assert [row[1] for row in rows] == pytest.approx(expected.tolist(), rel=1e-5)
    assert text.splitlines()[0] == "step\tkes\tkarras\texponential" and len(text.splitlines()) == 22


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
    chart, rows, _ = panel.redraw(manager, specs, 150, 0.0292, 14.6146, *values)
    assert 'class="curve-kes"' not in chart and "sharpness=3 lifts" in chart
    assert all(row[1] is None for row in rows)
    specs, values = shown(manager, sharpness=-1.0)
    chart, rows, text = panel.redraw(manager, specs, *SD, *values)
    assert "sharpness: -1 is out of range" in chart and rows == [] and text == ""


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


def test_status_names_the_file_and_the_last_error(manager, config_path):
    assert str(config_path) in panel.status(manager) and "error" not in panel.status(manager)
    config_path.write_text("sharpness: [\n")
    manager.load()
    assert "has an error; the last good values stay in force" in panel.status(manager)
    assert "not valid YAML" in panel.status(manager)


def test_following_the_file_updates_only_when_it_changed(manager, config_path):
    with gr.Blocks():
        built = panel.build_panel(manager, elem_prefix="test")
    unchanged = built.follow_file(manager, manager.version, *SD)
    assert all(update == gr.update() for update in unchanged[:len(built.controls) + 3])
    config_path.write_text(config_path.read_text().replace("start_blend: 0.1 ", "start_blend: 0.3 "))
    manager.load()
    updated = built.follow_file(manager, unchanged[-1], *SD)
    start_blend = [spec.parameter.name for spec in built.specs].index("start_blend")
    assert updated[start_blend] == 0.3 and updated[-1] == manager.version
    assert 'class="curve-kes"' in updated[len(built.controls)]


def test_panel_has_a_control_for_every_key_with_the_declared_ranges(manager):
    with gr.Blocks():
        built = panel.build_panel(manager, elem_prefix="test")
    """Every key but the retired one, which does nothing and so gets no slider."""
    assert [spec.parameter.name for spec in built.specs] == sorted(
        (p.name for p in CONTROL_PARAMETERS), key=[s.parameter.name for s in built.specs].index)
    assert len(built.controls) == len(CONTROL_PARAMETERS) == len(simple_kes.PARAMETERS) - 1
    sharpness = built.controls[[s.parameter.name for s in built.specs].index("sharpness")]
    assert isinstance(sharpness, gr.Slider) and (sharpness.minimum, sharpness.maximum) == (0.5, 1.5)


def test_chart_is_cheap_enough_to_redraw_on_every_slider_move():
    """Behaviour, not timing: the chart is a few kilobytes of SVG even for 150 steps."""
    chart = svg(compare(simple_kes.KesConfig(), 150, 0.0292, 14.6146))
    assert chart.startswith("<svg") and len(chart) < 20_000


def test_plot_command_writes_a_png(tmp_path, config_path):
    out = tmp_path / "kes.png"
    result = subprocess.run([sys.executable, "-m", "simple_kes", "plot", "--steps", "12", "--config", str(config_path),
                             "--out", str(out)], capture_output=True, text=True, timeout=120,
                            env={"PYTHONWARNINGS": "ignore", "PATH": ""})
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_plot_command_refuses_values_without_a_valid_schedule(tmp_path, config_path):
    config_path.write_text("sharpness: 1.0\nfinal_step_size: 5.0\ninitial_step_size: 0.1\n")
    result = subprocess.run([sys.executable, "-m", "simple_kes", "plot", "--config", str(config_path), "--out",
                             str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120,
                            env={"PYTHONWARNINGS": "ignore", "PATH": ""})
    assert result.returncode == 1 and "would not be strictly decreasing" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_status_escapes_what_the_file_contains(manager, config_path):
    config_path.write_text("sharpness: <img src=x onerror=alert(1)>\n")
    manager.load()
    assert "<img" not in panel.status(manager) and "&lt;img" in panel.status(manager)
