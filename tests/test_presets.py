"""Named presets: valid files, applied to the YAML without touching randomization or comments."""

from __future__ import annotations

import functools

import gradio as gr
import pytest

import simple_kes
from simple_kes.app import panel, presets
from simple_kes.parameters import SD_SIGMA_MAX, SD_SIGMA_MIN
from simple_kes.app import config_file
from simple_kes.app.config_file import read_config
from simple_kes.app.manager import ConfigManager
from cli_harness import Run, isolate_user_config, run_cli

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


def test_preset_command_writes_the_schedule_keys_and_keeps_randomization_and_comments(
        config_path, capsys, monkeypatch, tmp_path):
    """preset NAME --config FILE sets the preset's schedule values in FILE and changes nothing else
    (comments, layout, randomization keys); an unknown name is refused and writes nothing. In-process
    (cli_harness): the command line's own process is tested once, in test_cli.py."""
    isolate_user_config(tmp_path, monkeypatch)
    randomizing = config_file.template_text().replace("start_blend_rand: false", "start_blend_rand: true")
    config_path.write_text(randomizing.replace("sharpness: 0.95", "sharpness: 0.9"))
    assert run_cli(capsys, "preset", "faithful", "--config", config_path) == Run(
        0, f"applied preset faithful to {config_path}\n", "")
    assert config_path.read_text() == randomizing
    assert run_cli(capsys, "preset", "nope", "--config", config_path) == Run(
        1, "", f"no preset named 'nope'; presets: {', '.join(presets.preset_paths())}\n")
    assert config_path.read_text() == randomizing


def test_preset_command_refuses_a_file_it_cannot_read_in_one_line(tmp_path, capsys):
    """A target that is not UTF-8 is named in one line and left as it is (was a UnicodeDecodeError traceback)."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("sharpness: 0.9  # caf\xe9\n".encode("latin-1"))
    assert run_cli(capsys, "preset", "faithful", "--config", latin) == Run(
        1, "", f"{latin}: is not UTF-8 text (invalid continuation byte)\n")
    assert latin.read_bytes() == "sharpness: 0.9  # caf\xe9\n".encode("latin-1")


def test_sigmas_with_a_preset_use_its_values(config_path, capsys, monkeypatch, tmp_path):
    """sigmas --preset NAME uses the preset's schedule values instead of the file's, says so in its
    header, and refuses an unknown name naming --preset."""
    isolate_user_config(tmp_path, monkeypatch)
    config_path.write_text(config_path.read_text().replace("sharpness: 0.95", "sharpness: 0.9"))
    schedule = functools.partial(run_cli, capsys, "sigmas", "--steps", "8", "--json")
    with_file = schedule("--config", config_path)
    with_preset = schedule("--config", config_path, "--preset", "faithful")
    defaults = schedule("--config", config_file.TEMPLATE)
    assert with_preset.out == defaults.out != with_file.out
    header = run_cli(capsys, "sigmas", "--steps", "8", "--config", config_path, "--preset", "faithful").out
    assert header.splitlines()[0].endswith(f", preset faithful (randomization from {config_path})")
    assert schedule("--config", config_path, "--preset", "nope") == Run(
        1, "", f"--preset nope: no preset named 'nope'; presets: {', '.join(presets.preset_paths())}\n")


def test_panel_loads_a_preset_into_the_controls_only(config_path):
    manager = ConfigManager(config_path)
    manager.load()
    specs = panel.panel_specs(manager)
    moved = [0.9 if spec.parameter.name == "sharpness" else True if spec.parameter.name == "start_blend_rand"
             else value for spec, value in zip(specs, panel.file_values(manager, specs))]
    loaded = dict(zip((spec.parameter.name for spec in specs), panel.preset_control_values("faithful", specs, moved)))
    assert loaded["sharpness"] == 0.95 and loaded["start_blend_rand"] is True and loaded["sigma_min"] == 0.0
    assert read_config(config_path) == simple_kes.KesConfig(), "loading a preset saves nothing"


def test_every_preset_says_what_it_is_for_in_the_listing_and_the_panel(config_path, capsys, monkeypatch, tmp_path):
    isolate_user_config(tmp_path, monkeypatch)
    paths = presets.preset_paths()
    names = list(paths)
    assert all(presets.preset_summary(name) for name in names), "each preset file opens with '# NAME: ...'"
    listing = run_cli(capsys, "preset")
    assert (listing.code, listing.err) == (0, "")
    assert [line.split("\t") for line in listing.out.splitlines()] == [
        [name, presets.preset_summary(name).rstrip("."), str(paths[name])] for name in names]
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
    with pytest.raises(gr.Error, match="broken.yaml, line 2: sharpness: column 15: not valid YAML"):
        load_preset("broken", 20, *SD, *values)
    with pytest.raises(gr.Error, match="no preset named 'custom'"):
        load_preset(presets.CUSTOM, 20, *SD, *values)
    assert read_config(config_path) == simple_kes.KesConfig(), "a failed load writes nothing"
