"""Named presets: valid files, applied to the YAML without touching randomization or comments."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import gradio as gr
import pytest

import simple_kes
from simple_kes.app import panel, presets
from simple_kes.parameters import SD_SIGMA_MAX, SD_SIGMA_MIN
from simple_kes.app import config_file
from simple_kes.app.config_file import read_config
from simple_kes.app.manager import ConfigManager

SD = (SD_SIGMA_MIN, SD_SIGMA_MAX)


def test_every_preset_file_is_a_valid_config_and_faithful_is_the_defaults():
    assert "faithful" in presets.preset_paths()
    for name in presets.preset_paths():
        values = presets.preset_values(name)  # raises ConfigError for a bad file
        assert set(values) == set(presets.PRESET_KEYS)
    defaults = simple_kes.KesConfig()
    assert presets.preset_values("faithful") == {key: getattr(defaults, key) for key in presets.PRESET_KEYS}
    assert presets.matching_preset(defaults) == "faithful"
    assert presets.matching_preset(defaults.with_values({"sharpness": 0.9})) == presets.CUSTOM


def test_unknown_preset_names_the_ones_there_are():
    with pytest.raises(KeyError, match="no preset named 'nope'; presets: .*faithful"):
        presets.preset_values("nope")


def run(*arguments):
    return subprocess.run([sys.executable, "-m", "simple_kes", *arguments], capture_output=True, text=True,
                          timeout=120, env={"PYTHONWARNINGS": "ignore", "PATH": ""})


def test_preset_command_writes_the_schedule_keys_and_keeps_randomization_and_comments(config_path):
    text = config_path.read_text().replace("sharpness: 0.95", "sharpness: 0.9").replace(
        "start_blend_rand: false", "start_blend_rand: true")
    config_path.write_text(text)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    result = run("preset", "faithful", "--config", str(config_path))
    assert result.returncode == 0, result.stderr
    config = read_config(config_path)
    assert config.sharpness == 0.95 and config.start_blend_rand is True
    assert all(comment in config_path.read_text() for comment in comments)
    assert run("preset", "nope", "--config", str(config_path)).returncode == 1


def test_sigmas_with_a_preset_use_its_values(config_path):
    config_path.write_text(config_path.read_text().replace("sharpness: 0.95", "sharpness: 0.9"))
    with_file = run("sigmas", "--steps", "8", "--json", "--config", str(config_path))
    with_preset = run("sigmas", "--steps", "8", "--json", "--config", str(config_path), "--preset", "faithful")
    defaults = run("sigmas", "--steps", "8", "--json", "--config", str(config_file.TEMPLATE))
    assert with_preset.stdout == defaults.stdout != with_file.stdout
    listing = run("sigmas", "--steps", "8", "--config", str(config_path), "--preset", "faithful").stdout
    assert f"preset faithful (randomization from {config_path})" in listing.splitlines()[0]


def test_panel_loads_a_preset_into_the_controls_only(config_path):
    manager = ConfigManager(config_path)
    manager.load()
    specs = panel.panel_specs(manager)
    moved = [0.9 if spec.parameter.name == "sharpness" else True if spec.parameter.name == "start_blend_rand"
             else value for spec, value in zip(specs, panel.file_values(manager, specs))]
    loaded = dict(zip((spec.parameter.name for spec in specs), panel.preset_control_values("faithful", specs, moved)))
    assert loaded["sharpness"] == 0.95 and loaded["start_blend_rand"] is True and loaded["sigma_min"] == 0.0
    assert read_config(config_path) == simple_kes.KesConfig(), "loading a preset saves nothing"


def test_every_preset_says_what_it_is_for_in_the_listing_and_the_panel(config_path):
    names = list(presets.preset_paths())
    assert all(presets.preset_summary(name) for name in names), "each preset file opens with '# NAME: ...'"
    listing = run("preset")
    assert listing.returncode == 0, listing.stderr
    assert [line.split("\t")[:2] for line in listing.stdout.splitlines()] == [
        [name, presets.preset_summary(name).rstrip(".")] for name in names]
    manager = ConfigManager(config_path)
    manager.load()
    with gr.Blocks():
        built = panel.build_panel(manager, elem_prefix="test")
    assert built.preset.info == presets.preset_guide()
    assert all(f"{name}: {presets.preset_summary(name).rstrip('.')}" in built.preset.info for name in names)
    assert ".;" not in built.preset.info


def own_preset_folder(tmp_path, monkeypatch):
    """The presets folder beside a user config of this test (created), where one's own presets go."""
    monkeypatch.setenv(config_file.CONFIG_PATH_VARIABLE, str(tmp_path / "simple_kes.yaml"))
    folder = tmp_path / presets.PRESET_FOLDER_NAME
    folder.mkdir()
    return folder


def test_own_presets_join_the_shipped_ones_and_win_over_one_of_the_same_name(tmp_path, monkeypatch):
    """The shipped presets are package data; a file of the user's with the same name replaces one."""
    folder = own_preset_folder(tmp_path, monkeypatch)
    (folder / "faithful.yaml").write_text("# faithful: mine\nsharpness: 0.9\n", encoding="utf-8")
    (folder / "mine.yaml").write_text("# mine: also mine\nsharpness: 0.8\n", encoding="utf-8")
    paths = presets.preset_paths()
    assert list(paths) == sorted(paths) and {"faithful", "mine", "tuned-euler"} <= set(paths)
    assert paths["faithful"] == folder / "faithful.yaml" and presets.preset_values("faithful")["sharpness"] == 0.9
    assert presets.preset_values("tuned-euler")["rho"] == 6.809


def test_a_preset_without_a_summary_line_is_listed_by_name_only(tmp_path, monkeypatch):
    folder = own_preset_folder(tmp_path, monkeypatch)
    (folder / "plain.yaml").write_text("sharpness: 0.9\n", encoding="utf-8")
    (folder / "other.yaml").write_text("# something else: not this preset's summary\nsharpness: 0.9\n",
                                       encoding="utf-8")
    assert presets.preset_summary("plain") == presets.preset_summary("other") == ""
    assert "; other; plain;" in f"; {presets.preset_guide()};"


def test_a_broken_preset_file_is_reported_and_does_not_break_the_menus(tmp_path, monkeypatch, config_path):
    """A user's own preset that does not parse (or is not UTF-8) is listed as broken; the others still work."""
    folder = own_preset_folder(tmp_path, monkeypatch)
    (folder / "broken.yaml").write_text("# broken: my own\nsharpness: [1,\n", encoding="utf-8")
    (folder / "latin.yaml").write_bytes("# latin: caf\xe9\nsharpness: 0.9\n".encode("latin-1"))
    guide = presets.preset_guide()
    assert f"broken: has errors, see python -m simple_kes check --config {folder / 'broken.yaml'}" in guide
    assert f"latin: has errors, see python -m simple_kes check --config {folder / 'latin.yaml'}" in guide
    assert f"faithful: {presets.preset_summary('faithful').rstrip('.')}" in guide
    assert presets.matching_preset(simple_kes.KesConfig()) == "faithful"
    manager = ConfigManager(config_path)
    manager.load()
    with gr.Blocks() as blocks:
        built = panel.build_panel(manager, elem_prefix="test")
    [load_preset] = [f.fn for f in blocks.fns if f.fn.__name__ == "on_load_preset"]
    values = panel.file_values(manager, built.specs)
    with pytest.raises(gr.Error, match="broken.yaml, line 2: sharpness: column 12: not valid YAML"):
        load_preset("broken", 20, *SD, *values)
    with pytest.raises(gr.Error, match="no preset named 'custom'"):
        load_preset(presets.CUSTOM, 20, *SD, *values)
    assert read_config(config_path) == simple_kes.KesConfig(), "a failed load writes nothing"
