"""The ComfyUI node pack against the ComfyUI stand-in (tests/comfyui_stub): loading, the scheduler list,
the SIGMAS node's widgets, sources, cache and errors, and the chart node."""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import threading

import pytest
import torch
from hypothesis import given, settings
from k_diffusion.sampling import get_sigmas_karras
from hypothesis import strategies as st

import simple_kes
from comfyui_harness import PACK_ROOT, SCHEDULER, fresh_comfy, load_pack, scheduler_prompt
from load_events import reloaded, wait_for
from simple_kes.app import comfyui_mixing_nodes, comfyui_nodes, default_config, presets
from simple_kes.app.chart import ChartLayout
from simple_kes.app.comfyui_nodes import (CUSTOM, PRESET_PREFIX, SCHEDULE_PARAMETERS, YAML_FILE,
                                          KarrasExponentialScheduler, KarrasExponentialSigmasChart)
from simple_kes.parameters import BY_NAME



@pytest.fixture
def executor(comfyui):
    import execution
    return execution.PromptExecutor()


def sd_range():
    """The stand-in SD 1.x model's sigma range, as ComfyUI computes it from the betas (float32)."""
    import comfy.model_patcher
    return comfyui_nodes.model_range(comfy.model_patcher.ModelPatcher())


def kes_sigmas(steps, config=None, seed=None):
    config = config or simple_kes.KesConfig()
    return simple_kes.sigmas_for_config(steps, *sd_range(), config, seed=seed)[0]


def node_sigmas(executor, **widgets):
    return executor.run_node(scheduler_prompt(**widgets), "2")[0]


def assert_k_diffusion_contract(sigmas, steps):
    assert sigmas.shape == (steps + 1,) and sigmas.dtype == torch.float32
    assert sigmas[-1] == 0 and bool((sigmas[:-1] > 0).all())
    assert bool((sigmas[1:] < sigmas[:-1]).all()), "strictly decreasing"


# --- loading and the scheduler list -------------------------------------------------------------------

def test_the_pack_loads_with_its_nodes_and_display_names(comfyui):
    assert comfyui.NODE_CLASS_MAPPINGS["KarrasExponentialScheduler"] is KarrasExponentialScheduler
    assert comfyui.NODE_CLASS_MAPPINGS["KarrasExponentialSigmasChart"] is KarrasExponentialSigmasChart
    assert comfyui.NODE_DISPLAY_NAME_MAPPINGS["KarrasExponentialScheduler"] == "Karras Exponential Scheduler"
    for node in (KarrasExponentialScheduler, KarrasExponentialSigmasChart):
        assert node.CATEGORY.startswith("sampling/custom_sampling/") and callable(getattr(node, node.FUNCTION))


def test_every_scheduler_list_offers_ours_once_and_keeps_the_others(comfyui):
    import comfy.samplers
    from comfy_extras.nodes_custom_sampler import BasicScheduler
    load_pack(comfyui)  # a second load (a test, or a pack loaded twice) adds no second entry
    assert comfy.samplers.SCHEDULER_NAMES.count(SCHEDULER) == 1
    assert comfy.samplers.KSampler.SCHEDULERS is comfy.samplers.SCHEDULER_NAMES, "the list is changed in place"
    assert comfy.samplers.SCHEDULER_NAMES[:9] == ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform",
                                                  "beta", "normal", "linear_quadratic", "kl_optimal"]
    assert SCHEDULER in comfyui.NODE_CLASS_MAPPINGS["KSampler"].INPUT_TYPES()["required"]["scheduler"][0]
    assert SCHEDULER in BasicScheduler.INPUT_TYPES()["required"]["scheduler"][0]
    assert comfy.samplers.SCHEDULER_HANDLERS[SCHEDULER].use_ms is False


GUIDE_SCHEDULES = ["align_your_steps_sd15", "align_your_steps_sdxl", "align_your_steps_svd", "align_your_steps_32_sd15",
                   "align_your_steps_32_sdxl", "gits", "ddpm_linear", "ddpm_quadratic", "iddpm_cosine"]


def test_the_guides_schedules_comfyui_lacks_join_its_list_once(comfyui):
    """ComfyUI's own normal, beta, linear_quadratic, ... stay its own; AYS, GITS and the beta-schedule-derived
    ones join every scheduler list after ours."""
    import comfy.samplers
    load_pack(comfyui)
    names = comfy.samplers.SCHEDULER_NAMES
    assert names[names.index(SCHEDULER) + 1:] == GUIDE_SCHEDULES
    assert comfy.samplers.SCHEDULER_HANDLERS["beta"].handler.__name__ == "_comfyui_only"


@pytest.mark.parametrize("version", ["0.3.64", "0.3.10"])
@pytest.mark.parametrize("name", ["gits", "align_your_steps_32_sdxl"])
def test_ksampler_samples_with_a_guide_schedule_over_the_model_range(kes_file, version, name):
    from simple_kes.named_schedules import get_sigmas
    nodes = fresh_comfy(version=version)
    try:
        load_pack(nodes)
        import comfy.model_patcher
        import comfy.samplers
        sampler = comfy.samplers.KSampler(comfy.model_patcher.ModelPatcher(), 12, "cpu", "euler", name)
        assert torch.equal(sampler.sigmas, get_sigmas(name, 12, *sd_range()))
    finally:
        KarrasExponentialScheduler.manager = None


def test_a_pack_loaded_twice_watches_once_and_reports_each_change_once(comfyui, kes_file, caplog):
    load_pack(comfyui)
    results = reloaded(KarrasExponentialScheduler.manager)
    with caplog.at_level(logging.INFO, logger="simple_kes"):
        kes_file.write_text(kes_file.read_text().replace("rho: 7.0", "rho: 6.5"))
        wait_for(results, lambda result: result.changed)
    assert [record.getMessage() for record in caplog.records] == [
        f"[Karras Exponential] loaded {KarrasExponentialScheduler.manager.path}"]
    assert [t.name for t in threading.enumerate()].count("simple_kes-config-reload") == 1


@pytest.mark.parametrize("version", ["0.3.64", "0.3.10"])
def test_ksampler_samples_with_the_yaml_schedule_over_the_model_range(kes_file, version):
    """Both registration mechanisms; the other schedulers stay k-diffusion's."""
    nodes = fresh_comfy(version=version)
    try:
        assert load_pack(nodes) and load_pack(nodes)
        import comfy.model_patcher
        import comfy.samplers
        model = comfy.model_patcher.ModelPatcher()
        sampler = comfy.samplers.KSampler(model, 12, "cpu", "euler", SCHEDULER)
        assert torch.equal(sampler.sigmas, kes_sigmas(12))
        karras = comfy.samplers.KSampler(model, 12, "cpu", "euler", "karras")
        assert torch.equal(karras.sigmas, get_sigmas_karras(12, *sd_range()))
    finally:
        KarrasExponentialScheduler.manager = None


def test_ksampler_runs_and_slices_for_denoise_like_every_scheduler(executor):
    latent = {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}}
    text = {"class_type": "CLIPTextEncode", "inputs": {"text": "a digit", "clip": ["1", 1]}}
    ksampler = {"class_type": "KSampler", "inputs": {
        "model": ["1", 0], "seed": 3, "steps": 10, "cfg": 5.0, "sampler_name": "euler", "scheduler": SCHEDULER,
        "positive": ["3", 0], "negative": ["3", 0], "latent_image": ["2", 0], "denoise": 0.5}}
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny-sd15.safetensors"}},
              "2": latent, "3": text, "4": ksampler}
    output = executor.run_node(prompt, "4")[0]
    assert torch.equal(output["sigmas"], kes_sigmas(20)[-11:])
    assert output["samples"].shape == (1, 4, 8, 8) and bool(torch.isfinite(output["samples"]).all())


# --- the SIGMAS node ----------------------------------------------------------------------------------

def test_every_schedule_key_is_a_widget_with_the_declared_default_limits_and_help():
    declared = KarrasExponentialScheduler.INPUT_TYPES()
    required = {**declared["required"], **declared["optional"]}
    assert list(declared["optional"]) == ["blend_from", "blend_to"], "added last: older workflows keep their values"
    assert sorted(name for name in required if name in BY_NAME) == sorted(p.name for p in SCHEDULE_PARAMETERS)
    assert {"sharpness", "rho", "sigma_min", "update_interval"} <= set(required)
    for parameter in SCHEDULE_PARAMETERS:
        kind, spec = required[parameter.name]
        if parameter.choices:  # a combo: the list of choices
            assert kind == list(parameter.choices) and spec["default"] == parameter.default
            assert parameter.help in spec["tooltip"]
            continue
        assert kind == {float: "FLOAT", int: "INT"}[parameter.kind]
        assert spec["default"] == (0.0 if parameter.default is None else parameter.default)
        assert parameter.help in spec["tooltip"] and parameter.describe_limits() in spec["tooltip"]
        if math.isfinite(parameter.minimum) and not parameter.optional:
            assert spec["min"] == parameter.minimum
        if math.isfinite(parameter.maximum):
            assert spec["max"] == parameter.maximum
        assert spec["min"] <= spec["default"] <= spec["max"]
        if kind == "FLOAT":
            assert spec["round"] is False, "ComfyUI would round 0.0292 to the step"
    assert required["source"][0][:2] == [CUSTOM, YAML_FILE]
    assert [PRESET_PREFIX + name for name in presets.preset_paths()] == required["source"][0][2:]


def test_default_widgets_give_the_default_schedule_and_pass_validation(executor):
    import execution
    prompt = scheduler_prompt(steps=20)
    assert execution.validate_node(KarrasExponentialScheduler, prompt["2"]["inputs"]) == []
    assert torch.equal(node_sigmas(executor, steps=20), kes_sigmas(20))


def test_widget_values_shape_the_schedule_and_zero_means_the_models_range(executor):
    sigmas = node_sigmas(executor, steps=15, sharpness=0.9, rho=5.0, sigma_max=20.0, sigma_min=0.0)
    config = simple_kes.KesConfig().with_values({"sharpness": 0.9, "rho": 5.0, "sigma_max": 20.0})
    assert torch.equal(sigmas, kes_sigmas(15, config))


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(1, 150), denoise=st.floats(0.05, 1.0))
def test_node_output_meets_the_k_diffusion_contract_like_basic_scheduler(steps, denoise):
    """Any steps and denoise: steps + 1 strictly decreasing sigmas ending in 0, the tail of a longer run."""
    node = KarrasExponentialScheduler()
    node.manager = default_config.default_manager()
    import comfy.model_patcher
    widgets = {p.name: (0.0 if p.default is None else p.default) for p in SCHEDULE_PARAMETERS}
    (sigmas,) = node.get_sigmas(comfy.model_patcher.ModelPatcher(), steps, denoise, CUSTOM, draw_seed=0, **widgets)
    assert_k_diffusion_contract(sigmas, steps)
    total = steps if denoise >= 1 else int(steps / denoise)
    assert torch.equal(sigmas, kes_sigmas(total)[-(steps + 1):])


@pytest.fixture
def started_comfy(comfyui):
    """The hypothesis test above needs the stand-in loaded once for the whole test."""
    return comfyui


test_node_output_meets_the_k_diffusion_contract_like_basic_scheduler = pytest.mark.usefixtures("started_comfy")(
    test_node_output_meets_the_k_diffusion_contract_like_basic_scheduler)


def test_zero_denoise_gives_no_sigmas_like_basic_scheduler(executor):
    assert node_sigmas(executor, denoise=0.0).numel() == 0


def test_a_value_outside_the_hard_limits_is_a_node_error_with_our_message_and_the_queue_goes_on(executor):
    """Widget limits the executor cannot know (an open end, a combination) fail in the node with key,
    value and allowed range; ComfyUI's own min/max check catches the rest first, naming the input."""
    result = executor.execute({**scheduler_prompt(sharpness=0.0), **chart_output()})
    assert result["status"] == "error" and result["error"]["node_type"] == "KarrasExponentialScheduler"
    message = result["error"]["exception_message"]
    assert "sharpness: 0 is out of range; allowed: a number > 0" in message and "widgets" in message
    combination = executor.execute({**scheduler_prompt(steps=60, sharpness=1.5), **chart_output()})
    assert combination["status"] == "error" and "decreas" in combination["error"]["exception_message"]
    below = executor.execute({**scheduler_prompt(rho=-1.0), **chart_output()})
    assert below["status"] == "invalid" and below["node_errors"]["2"][0]["details"] == "rho"
    assert executor.execute({**scheduler_prompt(), **chart_output()})["status"] == "success"


def chart_output() -> dict:
    return {"3": {"class_type": "KarrasExponentialSigmasChart", "inputs": {"sigmas": ["2", 0], "width": 320,
                                                                           "height": 200}},
            "4": {"class_type": "PreviewImage", "inputs": {"images": ["3", 0]}}}


def test_a_preset_source_uses_the_preset_and_ignores_the_widgets(executor):
    sigmas = node_sigmas(executor, source=PRESET_PREFIX + "tuned-euler", steps=10, sharpness=0.5)
    config = simple_kes.KesConfig().with_values(presets.preset_values("tuned-euler"))
    assert torch.equal(sigmas, kes_sigmas(10, config))


def test_editing_your_preset_reruns_the_node(executor, kes_file):
    folder = kes_file.parent / "presets"
    folder.mkdir()
    (folder / "mine.yaml").write_text("# mine: a test preset\nrho: 6.0\n")
    prompt = {**scheduler_prompt(source=PRESET_PREFIX + "mine"), **chart_output()}
    assert executor.execute(prompt)["executed"] == ["1", "2", "3", "4"]
    assert executor.execute(prompt)["executed"] == [], "unchanged: everything from the cache"
    (folder / "mine.yaml").write_text("# mine: a test preset\nrho: 9.0\n")
    assert executor.execute(prompt)["executed"] == ["2", "3", "4"]
    rho_9 = simple_kes.KesConfig().with_values({"rho": 9.0})
    assert torch.equal(executor.run_node(prompt, "2")[0], kes_sigmas(20, rho_9))


def test_a_yaml_edit_reaches_the_next_queued_prompt_through_the_cache(executor, kes_file):
    """The real watchdog observer reloads the file; IS_CHANGED makes the executor run the node again."""
    prompt = {**scheduler_prompt(source=YAML_FILE), **chart_output()}
    assert executor.execute(prompt)["status"] == "success"
    assert executor.execute(prompt)["executed"] == []
    manager = KarrasExponentialScheduler.manager
    results = reloaded(manager)
    kes_file.write_text(kes_file.read_text().replace("sharpness: 0.95", "sharpness: 0.85"))
    wait_for(results, lambda result: result.changed)
    assert executor.execute(prompt)["executed"] == ["2", "3", "4"]
    sharper = simple_kes.KesConfig().with_values({"sharpness": 0.85})
    assert torch.equal(executor.run_node(prompt, "2")[0], kes_sigmas(20, sharper))


def test_a_broken_yaml_is_a_node_error_naming_file_key_and_range_until_it_is_fixed(executor, kes_file):
    import comfy.model_patcher
    import comfy.samplers
    prompt = {**scheduler_prompt(source=YAML_FILE), **chart_output()}
    results = reloaded(KarrasExponentialScheduler.manager)
    good = kes_file.read_text()
    kes_file.write_text(good.replace("sharpness: 0.95", "sharpness: -2"))
    wait_for(results, lambda result: result.error is not None)
    failed = executor.execute(prompt)
    message = failed["error"]["exception_message"]
    assert failed["status"] == "error" and str(kes_file) in message and "sharpness: -2 is out of range" in message
    assert "line " in message and "fix the file and queue it again" in message
    with pytest.raises(ValueError, match="sharpness: -2 is out of range"):
        comfy.samplers.KSampler(comfy.model_patcher.ModelPatcher(), 10, "cpu", "euler", SCHEDULER)
    assert KarrasExponentialScheduler.manager.config.sharpness == 0.95, "the last good values stay in memory"
    kes_file.write_text(good)
    wait_for(results, lambda result: result.error is None)
    assert executor.execute(prompt)["status"] == "success"


def test_a_randomizing_yaml_draws_from_the_nodes_seed(executor, kes_file):
    results = reloaded(KarrasExponentialScheduler.manager)
    kes_file.write_text(kes_file.read_text().replace("sharpness_rand: false", "sharpness_rand: true"))
    wait_for(results, lambda result: result.changed)
    first, again = (node_sigmas(executor, source=YAML_FILE, draw_seed=7) for _ in range(2))
    other = node_sigmas(executor, source=YAML_FILE, draw_seed=8)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(first, kes_sigmas(20, KarrasExponentialScheduler.manager.config, seed=7))


def test_the_scheduler_lists_draws_are_fresh_each_run_and_go_to_the_console(comfyui, kes_file, caplog):
    """ComfyUI hands a scheduler no seed: each KSampler run draws anew, and says what it drew."""
    import comfy.model_patcher
    import comfy.samplers
    results = reloaded(KarrasExponentialScheduler.manager)
    kes_file.write_text(kes_file.read_text().replace("sharpness_rand: false", "sharpness_rand: true"))
    wait_for(results, lambda result: result.changed)
    with caplog.at_level(logging.INFO, logger="simple_kes"):
        runs = [comfy.samplers.KSampler(comfy.model_patcher.ModelPatcher(), 10, "cpu", "euler", SCHEDULER).sigmas
                for _ in range(2)]
    assert not torch.equal(*runs)
    drawn = [record.getMessage() for record in caplog.records]
    assert len(drawn) == 2 and all(message.startswith("[Karras Exponential] drew sharpness=") for message in drawn)
    seed = int(drawn[0].rsplit("seed ", 1)[1].rstrip(")"))
    assert torch.equal(runs[0], kes_sigmas(10, KarrasExponentialScheduler.manager.config, seed=seed))


def test_custom_sigmas_node_feeds_sampler_custom(executor):
    prompt = scheduler_prompt(steps=8)
    prompt.update({
        "3": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "6": {"class_type": "SamplerCustom", "inputs": {
            "model": ["1", 0], "add_noise": True, "noise_seed": 1, "cfg": 5.0, "positive": ["5", 0],
            "negative": ["5", 0], "sampler": ["3", 0], "sigmas": ["2", 0], "latent_image": ["4", 0]}},
    })
    output = executor.run_node(prompt, "6")[0]
    assert torch.equal(output["sigmas"], kes_sigmas(8)) and bool(torch.isfinite(output["samples"]).all())


# --- the chart node -----------------------------------------------------------------------------------

KES_BLUE = (0x1F, 0x6F, 0xEB)


def near_colour(image, point, colour, radius=3, tolerance=40):
    x, y = round(point[0]), round(point[1])
    patch = image[0, y - radius:y + radius + 1, x - radius:x + radius + 1] * 255
    return bool(((patch - torch.tensor(colour, dtype=torch.float32)).abs().sum(-1) < tolerance).any())


def test_chart_is_a_comfyui_image_with_the_input_curve_where_its_sigmas_are(comfyui):
    import comfy.model_patcher
    model = comfy.model_patcher.ModelPatcher()
    sigmas = kes_sigmas(12)
    (image,) = KarrasExponentialSigmasChart().draw(sigmas, 480, 240, model)
    assert image.shape == (1, 240, 480, 3) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    layout = ChartLayout(comfyui_nodes.sigmas_comparison(sigmas, sd_range()), 480, 240)
    assert all(near_colour(image, point, KES_BLUE) for point in layout.points("kes"))
    (other,) = KarrasExponentialSigmasChart().draw(get_sigmas_karras(12, *sd_range()), 480, 240, model)
    assert not all(near_colour(other, point, KES_BLUE) for point in layout.points("kes"))


def test_chart_without_a_model_uses_the_inputs_range_and_draws_a_split_part_whole(comfyui):
    sigmas = kes_sigmas(10)[:6]  # the first half of a SplitSigmas: does not end in 0
    comparison = comfyui_nodes.sigmas_comparison(sigmas, None)
    assert comparison.kes == [*sigmas.tolist(), 0.0] and comparison.steps == 6
    assert (comparison.model_sigma_min, comparison.model_sigma_max) == (float(sigmas[-1]), float(sigmas[0]))
    assert comparison.subject_label == "input sigmas"
    assert [(r.name, len(r.sigmas)) for r in comparison.references] == [("karras", 7), ("exponential", 7)]


@pytest.mark.parametrize("sigmas", [torch.tensor([]), torch.tensor([0.0, 0.0]), torch.tensor([3.0])])
def test_chart_of_unusable_sigmas_is_a_clear_error(sigmas):
    with pytest.raises(ValueError, match="sigmas: .*a chart needs"):
        comfyui_nodes.sigmas_comparison(sigmas, None)


# --- in a ComfyUI without k-diffusion or watchdog (subprocesses: blocked imports stay blocked) ----------

COMFY_COPY_OF_K_DIFFUSION = '''
import math, torch
called = []

def get_sigmas_karras(n, sigma_min, sigma_max, rho=7.0, device="cpu"):
    called.append("karras")
    ramp = torch.linspace(0, 1, n)
    low, high = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return torch.cat([(high + ramp * (low - high)) ** rho, torch.zeros(1)]).to(device)

def get_sigmas_exponential(n, sigma_min, sigma_max, device="cpu"):
    called.append("exponential")
    sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), n).exp()
    return torch.cat([sigmas, torch.zeros(1)]).to(device)
'''

FALLBACK_RUN = '''
import json, sys

class NotInstalled:  # k-diffusion absent, as in ComfyUI: the error Python gives for a missing package
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "k_diffusion":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
import simple_kes
from comfy.k_diffusion import sampling
sigmas = simple_kes.get_sigmas_karras_exponential(12, 0.0292, 14.6146)
print(json.dumps({"called": sorted(set(sampling.called)), "sigmas": sigmas.tolist()}))
'''


@pytest.mark.slow
def test_without_the_k_diffusion_distribution_the_core_uses_comfyuis_copy(tmp_path):
    package = tmp_path / "comfy" / "k_diffusion"
    package.mkdir(parents=True)
    (tmp_path / "comfy" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "sampling.py").write_text(COMFY_COPY_OF_K_DIFFUSION)
    result = subprocess.run([sys.executable, "-c", FALLBACK_RUN], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["called"] == ["exponential", "karras"]
    expected = simple_kes.get_sigmas_karras_exponential(12, 0.0292, 14.6146)
    assert torch.allclose(torch.tensor(report["sigmas"]), expected, rtol=1e-6)


NO_WATCHDOG_RUN = '''
import json, sys
sys.path.insert(0, {stub!r})
sys.modules["watchdog"] = None  # not installed yet
import nodes
loaded = nodes.load_custom_node({pack!r})
import comfy.samplers
print(json.dumps({{"loaded": loaded, "nodes": sorted(nodes.NODE_CLASS_MAPPINGS),
                  "schedulers": comfy.samplers.SCHEDULER_NAMES}}))
'''


@pytest.mark.slow
def test_without_watchdog_the_pack_says_what_to_install_and_comfyui_goes_on(tmp_path):
    from comfyui_harness import PACK_ROOT, STUB_ROOT
    run = NO_WATCHDOG_RUN.format(stub=str(STUB_ROOT), pack=str(PACK_ROOT))
    result = subprocess.run([sys.executable, "-c", run], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "SIMPLE_KES_CONFIG": str(tmp_path / "simple_kes.yaml")})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["loaded"] and "KarrasExponentialScheduler" not in report["nodes"]
    assert SCHEDULER not in report["schedulers"] and "KSampler" in report["nodes"]
    assert "pip install watchdog" in result.stderr and "Traceback" not in result.stderr


# --- the example workflows (examples/) -----------------------------------------------------------------

EXAMPLES = sorted((PACK_ROOT / "examples").glob("*.api.json"))
PACK_NODES = {*comfyui_nodes.NODE_CLASS_MAPPINGS, *comfyui_mixing_nodes.NODE_CLASS_MAPPINGS}
WIDGET_KINDS = ("INT", "FLOAT", "STRING", "BOOLEAN")


def widget_names(class_def) -> list[str]:
    """The inputs the frontend shows as widgets, in order: numbers, strings, switches and choice lists."""
    declared = class_def.INPUT_TYPES()
    inputs = {**declared.get("required", {}), **declared.get("optional", {})}
    return [name for name, spec in inputs.items() if isinstance(spec[0], list) or spec[0] in WIDGET_KINDS]


# ComfyUI's frontend follows an input named seed with its "control after generate" widget.
SEED_INPUTS, SEED_CONTROLS = ("seed", "noise_seed"), ("fixed", "increment", "decrement", "randomize")


def ui_widget_values(class_def, api_inputs, ui_values) -> list:
    """The widget values a UI-format node holds for these API inputs, in order (a seed's control as saved)."""
    values = []
    for name in widget_names(class_def):
        values.append(api_inputs[name])
        if name in SEED_INPUTS:
            control = ui_values[len(values)] if len(values) < len(ui_values) else None
            values.append(control if control in SEED_CONTROLS else "a seed's control")
    return values


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_each_api_example_validates_and_runs(executor, path):
    prompt = {node_id: {"class_type": node["class_type"], "inputs": node["inputs"]}
              for node_id, node in json.loads(path.read_text()).items()}
    result = executor.execute(prompt)
    assert result["status"] == "success", result


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_each_ui_example_holds_the_same_nodes_and_our_widgets_in_declaration_order(comfyui, path):
    """The UI-format file (exported from ComfyUI's frontend) must follow the declaration as it changes."""
    api = json.loads(path.read_text())
    workflow = json.loads(path.with_name(path.name.replace(".api.json", ".workflow.json")).read_text())
    by_id = {str(node["id"]): node for node in workflow["nodes"]}
    assert set(by_id) == set(api)
    for node_id, node in api.items():
        assert by_id[node_id]["type"] == node["class_type"]
        if node["class_type"] in PACK_NODES:
            class_def = comfyui.NODE_CLASS_MAPPINGS[node["class_type"]]
            assert by_id[node_id]["widgets_values"] == ui_widget_values(class_def, node["inputs"],
                                                                        by_id[node_id]["widgets_values"])
