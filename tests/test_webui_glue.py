"""The WebUI glue, loaded into the WebUI stand-in the way the WebUI loads an extension."""

from __future__ import annotations

import html
import logging
import re
import threading

import gradio as gr
import pytest
import k_diffusion.sampling
import torch
import asyncio

import httpx
from fastapi import FastAPI

import simple_kes
from simple_kes import ConfigError
from simple_kes.app import controls, presets
from simple_kes.app import webui_options as webui_data
from simple_kes.app import default_config
from simple_kes.app.config_file import read_config, template_text
from simple_kes.parameters import AXIS_PARAMETERS, CONTROL_PARAMETERS
from load_events import reloaded, wait_for
from webui_harness import WebUI, fresh_stub_modules

LABEL = webui_data.SCHEDULER_LABEL


def kes_sigmas(steps=20, seed=None, **values):
    config = simple_kes.KesConfig().with_values(values)
    return simple_kes.sigmas_for_config(steps, 0.0292, 14.6146, config, seed=seed)[0]


def test_registers_once_with_name_and_label_across_reloads(webui):
    """One dropdown entry, found by name and label, however often the UI is reloaded."""
    from modules import sd_schedulers
    for _ in range(3):
        webui.reload_ui(FastAPI())
    entries = [s for s in sd_schedulers.schedulers if s.name == webui_data.SCHEDULER_NAME]
    assert len(entries) == 1 and entries[0].label == LABEL
    assert sd_schedulers.schedulers[0].name == "automatic", "Automatic must stay first"
    assert sd_schedulers.schedulers_map[LABEL] is sd_schedulers.schedulers_map[webui_data.SCHEDULER_NAME] is entries[0]
    assert webui.errors.reported == []


def test_reload_ui_leaves_exactly_one_daemon_observer(webui):
    for _ in range(3):
        webui.reload_ui(FastAPI())
    reloaders = [t for t in threading.enumerate() if t.name == "simple_kes-config-reload"]
    assert len(reloaders) == 1
    assert default_config.default_manager()._observer.daemon and reloaders[0].daemon


def test_script_unloaded_stops_the_observer(webui):
    manager = default_config.default_manager()
    webui.shutdown()
    assert not manager.watching
    assert not [t for t in threading.enumerate() if t.name == "simple_kes-config-reload"]


def test_label_does_not_trip_sampler_suffix_parsing():
    """The WebUI splits "<sampler> <scheduler>" by suffix; no sampler name ends in our label or name."""
    samplers = ["Euler", "Euler a", "DPM++ 2M", "DPM++ 2M SDE", "DPM++ 2M SDE Heun", "DPM++ 3M SDE", "Heun", "LMS",
                "DPM2", "DPM2 a", "DPM fast", "DPM adaptive", "Restart", "DDIM", "UniPC", "LCM"]
    for sampler in samplers:
        for scheduler_name in (LABEL, webui_data.SCHEDULER_NAME):
            assert not sampler.lower().endswith(" " + scheduler_name.lower())
    assert webui_data.SCHEDULER_NAME not in ("karras", "exponential")


def test_generation_uses_the_schedule_through_the_webui_call(webui):
    """get_sigmas calls function(n=, sigma_min=, sigma_max=, device=) and gets n + 1 sigmas."""
    _, (sigmas,) = webui.txt2img(scheduler=LABEL, steps=20)
    assert torch.equal(sigmas, kes_sigmas(20))
    _, (by_name,) = webui.txt2img(scheduler=webui_data.SCHEDULER_NAME, steps=20)
    assert torch.equal(by_name, sigmas)


def test_inert_on_a_webui_without_sd_schedulers(kes_file, capsys):
    """A1111 1.8 and older: one clear line, no script, no callbacks, no observer."""
    fresh_stub_modules(without=("sd_schedulers",))
    webui = WebUI()
    webui.load_scripts()
    output = capsys.readouterr().out
    assert output.count("\n") == 1 and "no modules/sd_schedulers.py" in output
    assert [data.module for data in webui.scripts.scripts_data if data.module is webui.extension] == []
    assert all(not callbacks for callbacks in webui.callbacks.callback_map.values())
    assert default_config.existing_manager() is None or not default_config.existing_manager().watching


def test_settings_section_has_a_real_component_for_every_key(webui):
    """Every key that does something: a slider, checkbox or choice with the declared range or choices, showing
    the value in force.

    The retired key gets no control: a slider would suggest it does something.
    """
    components = webui.settings_components
    assert "kes_early_stopping_threshold" not in components
    for parameter in CONTROL_PARAMETERS:
        component = components[webui_data.option_key(parameter.name)]
        if parameter.kind is bool:
            assert isinstance(component, gr.Checkbox)
        elif parameter.choices:
            assert isinstance(component, gr.Dropdown)
            assert [choice[0] if isinstance(choice, tuple) else choice for choice in component.choices] == list(
                parameter.choices)
        else:
            assert isinstance(component, gr.Slider)
            assert component.minimum <= parameter.ui_range[0] and component.maximum >= parameter.ui_range[1]
        assert component.value == controls.to_control_value(parameter, getattr(simple_kes.KesConfig(), parameter.name))
    assert isinstance(components["kes_status"], gr.HTML)


def test_slider_range_widens_to_show_a_value_outside_it(webui, kes_file):
    text = kes_file.read_text().replace("smooth_blend_factor: 11.0", "smooth_blend_factor: 80.0")
    kes_file.write_text(text)
    default_config.default_manager().load()
    webui.reload_ui(FastAPI())
    slider = webui.settings_components["kes_smooth_blend_factor"]
    assert slider.value == 80.0 and slider.maximum >= 80.0


def test_apply_settings_writes_the_yaml_keeping_comments(webui, kes_file):
    """"Apply settings" saves the changed value atomically; it is in force for the next generation."""
    comments = [line for line in kes_file.read_text().splitlines() if line.startswith("#")]
    assert webui.apply_settings({"kes_sharpness": 0.9}) == ["kes_sharpness"]
    text = kes_file.read_text()
    assert re.search(r"^sharpness: 0.9 +# allowed: a number > 0", text, re.M)
    assert all(comment in text for comment in comments)
    _, (sigmas,) = webui.txt2img(scheduler=LABEL)
    assert torch.equal(sigmas, kes_sigmas(sharpness=0.9))


def test_apply_settings_refuses_a_rejected_value_and_writes_nothing(webui, kes_file):
    """A value the core rejects is refused with the core's message; file and setting stay."""
    before = kes_file.read_bytes()
    assert webui.apply_settings({"kes_sharpness": 3.0}) == []
    assert kes_file.read_bytes() == before
    assert webui.shared.opts.data["kes_sharpness"] == 0.95
    assert any("would not be strictly decreasing" in message and "sharpness" in message
               for message in webui.errors.reported)


def test_apply_settings_does_not_revert_an_edit_made_in_the_yaml(webui, kes_file):
    """Components still showing what they were built with do not overwrite a newer value from the file."""
    results = reloaded(default_config.default_manager())
    kes_file.write_text(kes_file.read_text().replace("sharpness: 0.95", "sharpness: 0.85"))
    wait_for(results, lambda r: r.config.sharpness == 0.85)
    webui.apply_settings({"kes_end_blend": 0.55})
    config = read_config(kes_file)
    assert (config.sharpness, config.end_blend) == (0.85, 0.55)


def test_none_means_the_models_value_and_zero_stands_for_it_in_settings(webui, kes_file):
    webui.apply_settings({"kes_sigma_min": 0.05})
    assert read_config(kes_file).sigma_min == 0.05
    webui.settings_components["kes_sigma_min"].value = 0.05
    webui.apply_settings({"kes_sigma_min": 0.0})
    assert read_config(kes_file).sigma_min is None


def test_yaml_edit_is_used_by_the_next_generation_without_restart(webui, kes_file):
    results = reloaded(default_config.default_manager())
    kes_file.write_text(kes_file.read_text().replace("start_blend: 0.1", "start_blend: 0.3"))
    wait_for(results, lambda r: r.config.start_blend == 0.3)
    _, (sigmas,) = webui.txt2img(scheduler=LABEL)
    assert torch.equal(sigmas, kes_sigmas(start_blend=0.3))
    assert webui.shared.opts.data["kes_start_blend"] == 0.3


def test_broken_yaml_keeps_the_last_good_config_and_shows_the_error(webui, kes_file, capsys):
    logging.basicConfig()  # as the WebUI does: a root handler that would print the package's records too
    results = reloaded(default_config.default_manager())
    kes_file.write_text("sharpness: [oops\n")
    wait_for(results, lambda r: r.error is not None)
    [line] = capsys.readouterr().out.splitlines()  # once, on one line, even with root logging configured
    assert line.startswith("[Karras Exponential] ") and "line 1: sharpness: column 12: not valid YAML" in line
    assert line.endswith("(keeping the last good config)")
    kes_file.write_text(template_text())  # the fix restores the same values: the console still says so
    wait_for(results, lambda r: r.error is None)
    assert capsys.readouterr().out == f"[Karras Exponential] loaded {kes_file}\n"
    kes_file.write_text("sharpness: [oops\n")
    wait_for(results, lambda r: r.error is not None)
    capsys.readouterr()
    _, (sigmas,) = webui.txt2img(scheduler=LABEL)
    assert torch.equal(sigmas, kes_sigmas())
    assert "last good values stay in force" in webui.shared.opts.kes_status, "a page reload shows it"
    webui.reload_ui(FastAPI())
    status = webui.settings_components["kes_status"].value
    assert "last good values stay in force" in status and str(kes_file) in status


def test_infotext_records_non_defaults_only_when_kes_is_used(webui, kes_file):
    p, _ = webui.txt2img(scheduler=LABEL)
    assert not [key for key in p.extra_generation_params if key.startswith("KES ")]
    webui.apply_settings({"kes_sharpness": 0.9, "kes_update_interval": 3.0})
    p, _ = webui.txt2img(scheduler=LABEL)
    assert {k: v for k, v in p.extra_generation_params.items() if k.startswith("KES ")} == {
        "KES sharpness": 0.9, "KES update interval": 3}
    p, _ = webui.txt2img(scheduler="Karras")
    assert not [key for key in p.extra_generation_params if key.startswith("KES ")]


def test_infotext_is_written_for_a_hires_pass_with_kes(webui, kes_file):
    webui.apply_settings({"kes_sharpness": 0.9})
    p, (first, hires) = webui.txt2img(scheduler="Karras", enable_hr=True, hr_scheduler=LABEL, hr_second_pass_steps=8)
    assert p.extra_generation_params["Hires schedule type"] == LABEL
    assert p.extra_generation_params["KES sharpness"] == 0.9
    assert torch.equal(hires, kes_sigmas(8, sharpness=0.9))


def test_pasted_infotext_reproduces_the_sigmas_as_overrides_without_touching_the_yaml(webui, kes_file):
    """Paste brings KES values back as per-generation overrides; the file is never rewritten."""
    webui.apply_settings({"kes_sharpness": 0.9, "kes_start_blend": 0.2})
    p, (original,) = webui.txt2img(scheduler=LABEL, seed=77)
    infotext = webui.processing.create_infotext(p)
    webui.settings_components["kes_sharpness"].value = 0.9
    webui.settings_components["kes_start_blend"].value = 0.2
    webui.apply_settings({"kes_sharpness": 0.8, "kes_start_blend": 0.1})  # the file moves on
    file_after = kes_file.read_bytes()
    pasted = webui.paste(infotext)
    assert pasted["override_settings"] == {"kes_sharpness": 0.9, "kes_start_blend": 0.2}
    _, (again,) = webui.txt2img(scheduler=LABEL, seed=77, override_settings=pasted["override_settings"])
    assert torch.equal(again, original)
    assert kes_file.read_bytes() == file_after


def test_pasting_an_image_made_with_defaults_resets_keys_the_file_has_changed(webui, kes_file):
    """A key missing from a KES infotext means "default", even if the file now says otherwise."""
    p, (original,) = webui.txt2img(scheduler=LABEL)
    infotext = webui.processing.create_infotext(p)
    webui.apply_settings({"kes_sharpness": 0.8})
    pasted = webui.paste(infotext)
    assert pasted["override_settings"] == {"kes_sharpness": 0.95}
    _, (again,) = webui.txt2img(scheduler=LABEL, override_settings=pasted["override_settings"])
    assert torch.equal(again, original)


def test_randomization_follows_the_image_seed_and_pastes_back(webui, kes_file):
    webui.apply_settings({"kes_start_blend_rand": True})
    p1, (first,) = webui.txt2img(scheduler=LABEL, seed=5)
    _, (same,) = webui.txt2img(scheduler=LABEL, seed=5)
    _, (other,) = webui.txt2img(scheduler=LABEL, seed=6)
    assert torch.equal(first, same) and not torch.equal(first, other)
    drawn = p1.extra_generation_params["KES start blend"]
    assert 0.05 <= drawn <= 0.2 and p1.extra_generation_params["KES randomize"] is False
    pasted = webui.paste(webui.processing.create_infotext(p1))
    _, (again,) = webui.txt2img(scheduler=LABEL, seed=999, override_settings=pasted["override_settings"])
    assert torch.equal(again, first)


def test_override_settings_apply_to_one_request_only(webui, kes_file):
    before = kes_file.read_bytes()
    _, (overridden,) = webui.txt2img(scheduler=LABEL, override_settings={"kes_sharpness": 0.9})
    assert torch.equal(overridden, kes_sigmas(sharpness=0.9))
    _, (plain,) = webui.txt2img(scheduler=LABEL)
    assert torch.equal(plain, kes_sigmas())
    assert kes_file.read_bytes() == before


@pytest.mark.parametrize("override, message", [
    ({"kes_sharpness": -1}, "per-generation value: sharpness: -1 is out of range; allowed: a number > 0"),
    ({"kes_sharpness": 1.5}, "per-generation value: the sigmas would not be strictly decreasing for "),
    ({"kes_sigma_min": 20.0}, "per-generation value: sigma_min: the sigma range 20 to 14.6146 is empty"),
])
def test_an_invalid_per_generation_value_stops_the_generation_before_sampling(webui, kes_file, capsys, override,
                                                                               message):
    """The WebUI's script runner reports a script's exception and samples anyway; the scheduler refuses.

    The generation fails when it asks for its sigmas, before the first denoising step, with the key,
    value and allowed range; the console gets the same line once, and the next generation is unaffected.
    """
    with pytest.raises(ConfigError, match=re.escape(message)):
        webui.txt2img(scheduler=LABEL, override_settings=override)
    assert message in capsys.readouterr().out
    # A hires job whose second pass uses KES stops before its first pass (no Schedule type recorded yet).
    hires = webui.processing.StableDiffusionProcessing(scheduler="karras", hr_scheduler=LABEL, enable_hr=True,
                                                       override_settings=override)
    with pytest.raises(ConfigError, match=re.escape(message)):
        webui.processing.process_images(hires)
    assert "Schedule type" not in hires.extra_generation_params
    _, (plain,) = webui.txt2img(scheduler=LABEL)
    assert torch.equal(plain, kes_sigmas())


def test_an_invalid_kes_value_does_not_stop_a_generation_with_another_schedule(webui, kes_file, capsys):
    """KES values sent with another schedule type are ignored, with one line in the console."""
    p, (karras,) = webui.txt2img(scheduler="karras", override_settings={"kes_sharpness": -1})
    assert torch.equal(karras, k_diffusion.sampling.get_sigmas_karras(20, 0.0292, 14.6146))
    assert not [key for key in p.extra_generation_params if key.startswith("KES ")]
    assert "ignored, this generation does not use Karras Exponential: per-generation value: sharpness: -1 is out " \
           "of range" in capsys.readouterr().out


def test_xyz_axes_use_the_live_module_and_are_not_duplicated_by_reloads(webui):
    webui.reload_ui(FastAPI())
    labels = [option.label for option in webui.xyz.axis_options]
    for parameter in AXIS_PARAMETERS:
        assert labels.count(webui_data.axis_label(parameter)) == 1
    ours = [o for o in webui.xyz.axis_options if o.label.startswith("KES ")]
    assert all(type(o) is webui.xyz.AxisOption for o in ours)
    xyz_script = next(d.script_class for d in webui.scripts.scripts_data if d.module is webui.xyz)
    assert set(ours) <= set(xyz_script().axis_options_for(is_img2img=False))


def test_xyz_cells_do_not_leak_kes_keys_into_the_next_cell(webui):
    """Cells share extra_generation_params; a default-valued cell must not carry the last cell's keys."""
    axis = next(o for o in webui.xyz.axis_options if o.label == "KES sharpness")
    shared_extra, shared_overrides = {}, {}
    cells = []
    for value in (0.9, 0.95):
        p = webui.processing.StableDiffusionProcessing(scheduler=LABEL, extra_generation_params=shared_extra,
                                                       override_settings=shared_overrides)
        axis.apply(p, value, [0.9, 0.95])
        sigmas = webui.processing.process_images(p)[0]
        cells.append((dict(p.extra_generation_params), sigmas))
    assert cells[0][0]["KES sharpness"] == 0.9 and torch.equal(cells[0][1], kes_sigmas(sharpness=0.9))
    assert "KES sharpness" not in cells[1][0] and torch.equal(cells[1][1], kes_sigmas())


def test_xyz_axis_rejects_values_outside_the_hard_limits(webui):
    axis = next(o for o in webui.xyz.axis_options if o.label == "KES sharpness")
    with pytest.raises(ValueError, match="KES sharpness: -1 is out of range; allowed: a number > 0"):
        axis.confirm(None, [0.9, -1])


def get_json(app, path):
    """One HTTP GET through the app's ASGI interface."""
    async def fetch():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://webui") as client:
            response = await client.get(path)
            assert response.status_code == 200
            return response.json()
    return asyncio.run(fetch())


def test_api_route_reports_the_config_in_force_its_file_and_the_last_error(webui, kes_file):
    app = FastAPI()
    webui.reload_ui(app)
    body = get_json(app, "/karras-exponential/v1/config")
    assert body["config"] == simple_kes.KesConfig().to_dict()
    assert body["source"] == str(kes_file) and body["last_error"] is None
    results = reloaded(default_config.default_manager())
    kes_file.write_text("sharpness: -1\n")
    wait_for(results, lambda r: r.error is not None)
    body = get_json(app, "/karras-exponential/v1/config")
    assert "sharpness: -1 is out of range" in body["last_error"] and body["config"]["sharpness"] == 0.95


def test_options_exist_without_the_settings_callback_for_nowebui(kes_file):
    """With --nowebui on_ui_settings never runs; the options must still be there for the API."""
    fresh_stub_modules()
    webui = WebUI()
    webui.load_scripts()  # no create_ui: API-only mode
    try:
        assert "kes_sharpness" in webui.shared.opts.data_labels
        assert webui.shared.opts.set("kes_sharpness", 0.9, is_api=True)
        assert read_config(kes_file).sharpness == 0.9
    finally:
        webui.shutdown()


def test_txt2img_and_img2img_get_the_tuning_panel_in_an_accordion(webui):
    """The same panel as the lab page, with its live chart, in each tab under its own element ids."""
    elements = {block.elem_id: block for block in webui.blocks.blocks.values() if getattr(block, "elem_id", None)}
    for tab in ("kes_txt2img", "kes_img2img"):
        assert isinstance(elements[f"{tab}_accordion"], gr.Accordion)
        assert 'class="curve-kes"' in elements[f"{tab}_chart"].value
        assert isinstance(elements[f"{tab}_kes_sharpness"], gr.Slider)


def test_status_line_escapes_what_the_file_contains(webui, kes_file):
    results = reloaded(default_config.default_manager())
    kes_file.write_text("sharpness: <script>alert(1)</script>\n")
    wait_for(results, lambda r: r.error is not None)
    assert "<script>" not in webui.shared.opts.kes_status and "&lt;script&gt;" in webui.shared.opts.kes_status


def test_settings_preset_choice_applies_a_preset_to_the_yaml(webui, kes_file):
    """Choosing a preset writes its schedule values; randomization keys stay; re-sending it does nothing."""
    assert html.escape(presets.preset_guide()) in webui.shared.opts.data_labels["kes_preset"].comment_after
    webui.apply_settings({"kes_sharpness": 0.9, "kes_start_blend_rand": True})
    webui.settings_components["kes_sharpness"].value = 0.9
    webui.settings_components["kes_start_blend_rand"].value = True
    webui.apply_settings({"kes_preset": "faithful"})
    config = read_config(kes_file)
    assert config.sharpness == 0.95 and config.start_blend_rand is True
    webui.settings_components["kes_preset"].value = "faithful"
    webui.apply_settings({"kes_sharpness": 0.85})
    assert read_config(kes_file).sharpness == 0.85, "an unchanged preset choice is not applied again"


def test_apply_from_a_page_opened_before_a_yaml_edit_keeps_the_edit_but_real_changes_go_through(webui, kes_file):
    results = reloaded(default_config.default_manager())
    kes_file.write_text(kes_file.read_text().replace("sharpness: 0.95", "sharpness: 0.85"))
    wait_for(results, lambda r: r.config.sharpness == 0.85)
    webui.apply_settings({})  # the page still shows 0.95 for sharpness
    assert read_config(kes_file).sharpness == 0.85
    webui.apply_settings({"kes_sharpness": 0.8})  # a value the user actually chose
    assert read_config(kes_file).sharpness == 0.8


# --- the schedules of the guides as Schedule type entries --------------------------------------------------

GUIDE_ENTRIES = ["Align Your Steps 32", "Align Your Steps SVD", "GITS", "Linear-Quadratic", "DDPM Linear",
                 "DDPM Quadratic", "iDDPM Cosine"]


def test_the_guides_schedules_a1111_lacks_are_added_once_and_its_own_are_kept(webui):
    """A1111 1.10 has Align Your Steps, Normal, Simple, DDIM, Beta, ...: those stay its own; the rest are
    added once, however often the UI is reloaded."""
    from modules import sd_schedulers
    before = {s.name: s for s in sd_schedulers.schedulers if s.function is not None}
    for _ in range(2):
        webui.reload_ui(FastAPI())
    labels = [s.label for s in sd_schedulers.schedulers]
    assert labels[labels.index(LABEL) + 1:] == GUIDE_ENTRIES
    assert len(labels) == len(set(labels))
    for name in ("align_your_steps", "ddim", "normal", "beta", "kl_optimal"):
        assert sd_schedulers.schedulers_map[name].function is before[name].function, name
    for label in GUIDE_ENTRIES:
        entry = sd_schedulers.schedulers_map[label]
        assert sd_schedulers.schedulers_map[entry.name] is entry


def test_the_stand_in_has_a1111_1_10s_schedule_types_as_the_docs_table_lists_them(webui):
    from modules import sd_schedulers
    from simple_kes.app.reference import KNOWN_WEBUIS
    from simple_kes.app.webui_schedules import OURS
    own = [s.name for s in sd_schedulers.schedulers
           if s.name != webui_data.SCHEDULER_NAME and not getattr(s.function, OURS, False)]
    assert tuple(own) == KNOWN_WEBUIS["A1111 1.10.1"]


def test_a_webui_that_has_a_schedule_by_name_or_alias_gets_no_copy():
    from simple_kes.app.webui_schedules import schedules_to_add

    forge = [("align_your_steps", "Align Your Steps", None), ("align_your_steps_32", "Align Your Steps 32", None),
             ("ddim", "DDIM", None), ("sgm_uniform", "SGM Uniform", ["SGMUniform"])]
    added = [entry.name for entry in schedules_to_add(forge)]
    assert "align_your_steps_32" not in added and "ddim_uniform" not in added and "sgm_uniform" not in added
    assert "gits" in added and "normal" in added  # Forge's 'Align Your Steps GITS' is another table


@pytest.mark.parametrize("label, name", [("GITS", "gits"), ("iDDPM Cosine", "iddpm_cosine"),
                                         ("Align Your Steps SVD", "align_your_steps_svd")])
def test_a_guide_schedule_samples_with_its_sigmas_over_the_models_range(webui, label, name):
    from simple_kes.named_schedules import get_sigmas
    p, (sigmas,) = webui.txt2img(scheduler=label, steps=12)
    assert torch.equal(sigmas, get_sigmas(name, 12, 0.0292, 14.6146))
    assert p.extra_generation_params["Schedule type"] == label


@pytest.mark.parametrize("is_sdxl, name", [(False, "align_your_steps_32_sd15"), (True, "align_your_steps_32_sdxl")])
def test_align_your_steps_32_takes_the_list_of_the_loaded_model(webui, monkeypatch, is_sdxl, name):
    from modules import shared
    from simple_kes.named_schedules import get_sigmas
    monkeypatch.setattr(shared, "sd_model", type("Model", (), {"is_sdxl": is_sdxl})(), raising=False)
    _, (sigmas,) = webui.txt2img(scheduler="Align Your Steps 32", steps=32)
    assert torch.equal(sigmas, get_sigmas(name, 32, 0.0292, 14.6146))
