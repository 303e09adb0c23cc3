"""Karras Exponential in the Stable Diffusion WebUI (A1111 1.9+, Forge, reForge).

Registers the "Karras Exponential" schedule type, CFG++ versions of Euler, Euler a and DPM++ 2M in the
Sampler dropdown (where the WebUI has none of that name), True Noise Removal as a guidance choice for
any sampler, iterative mixing for hires fix and img2img, a Settings section on the YAML config,
infotext for the values a generation used, X/Y/Z axes and a small API route. Thin glue: the maths and
the config live in the ``simple_kes`` package under ``modules/``.
"""

import html
import logging
import os
import sys

# The WebUI owns the package name `modules`, so our source root goes on sys.path and its one
# package is imported by its own unique name.
_SOURCE_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "modules")
if _SOURCE_ROOT not in sys.path:
    sys.path.append(_SOURCE_ROOT)

import gradio as gr  # noqa: E402

from simple_kes.app import controls, default_config, panel, presets  # noqa: E402
from simple_kes.app import webui_guidance, webui_mixing, webui_options, webui_samplers, webui_schedules  # noqa: E402
from simple_kes.config import ConfigError  # noqa: E402
from simple_kes.parameters import ANY_SCHEDULE_PARAMETERS, AXIS_PARAMETERS, INFOTEXT_PARAMETERS  # noqa: E402
from simple_kes.validation import validate  # noqa: E402
from modules import script_callbacks, scripts, sd_samplers, sd_samplers_common, sd_samplers_kdiffusion  # noqa: E402
from modules import shared  # noqa: E402

try:
    from modules import sd_schedulers
except ImportError:  # A1111 1.8 and older choose the schedule elsewhere
    sd_schedulers = None
    print("[Karras Exponential] this WebUI has no modules/sd_schedulers.py (A1111 1.9 or newer, Forge or "
          "reForge is needed); the extension stays inactive.")

LOG_PREFIX = "[Karras Exponential]"
# This script prints load errors and notices itself, once and prefixed; the package's logger would
# repeat them wherever the WebUI has configured the root logger.
logging.getLogger("simple_kes").propagate = False
manager = default_config.default_manager()
scheduler = default_config.default_scheduler


def register_scheduler():
    """Add the schedule type once; a Reload UI replaces the entry in place instead of adding another."""
    _register(sd_schedulers.Scheduler(webui_options.SCHEDULER_NAME, webui_options.SCHEDULER_LABEL,
                                      default_config.simple_karras_exponential_scheduler))


def register_guide_schedules():
    """Add the schedules of the guides this WebUI lacks (by name); a Reload UI finds ours and replaces them."""
    existing = [(data.name, data.label, getattr(data, "aliases", None)) for data in sd_schedulers.schedulers
                if not getattr(data.function, webui_schedules.OURS, False)]
    for entry in webui_schedules.schedules_to_add(existing):
        _register(sd_schedulers.Scheduler(entry.name, entry.label, webui_schedules.sigmas_function(entry, is_sdxl)))


def is_sdxl():
    return bool(getattr(getattr(shared, "sd_model", None), "is_sdxl", False))


def _register(entry):
    for index, existing in enumerate(sd_schedulers.schedulers):
        if existing.name == entry.name:
            sd_schedulers.schedulers[index] = entry
            break
    else:
        sd_schedulers.schedulers.append(entry)
    sd_schedulers.schedulers_map[entry.name] = entry
    sd_schedulers.schedulers_map[entry.label] = entry


def register_cfg_pp_samplers():
    """Add the CFG++ samplers the WebUI lacks (reForge has its own; a Reload UI finds ours already there)."""
    existing = [(data.name, data.aliases) for data in sd_samplers.all_samplers]
    for entry in webui_samplers.samplers_to_add(existing):
        function = webui_samplers.sampler_function(entry)
        data = sd_samplers_common.SamplerData(
            entry.label, lambda model, function=function: sd_samplers_kdiffusion.KDiffusionSampler(function, model),
            list(entry.aliases), dict(entry.options))
        sd_samplers.all_samplers.append(data)
        sd_samplers.all_samplers_map[data.name] = data
    sd_samplers.set_samplers()


# --- Settings: the YAML is the source of truth --------------------------------------------------------

# "Apply settings" sends every component's value. A page opened before the YAML was edited still
# shows the value the edit replaced; sending that back must not undo the edit. So each reload records,
# per option, the value it replaced (the WebUI refreshes the controls when a page loads).
_replaced_by_reload = {}
# Whether the last load of the file failed (its error is the last thing the console said about it).
_last_load_failed = False


# The last preset chosen in Settings; choosing one writes its values to the YAML. A stored choice,
# not derived from the file: a derived value changes under an open page, and re-sending it would
# apply a preset nobody chose.
PRESET_OPTION = "kes_preset"


def sync_options(config):
    """Mirror the config in force into the WebUI's options (what the API and the next UI build read)."""
    shared.opts.data.update(webui_options.option_values(config))


def remember_replaced_values(config):
    for key, value in webui_options.option_values(config).items():
        if key in shared.opts.data and shared.opts.data[key] != value:
            _replaced_by_reload[key] = shared.opts.data[key]


def is_stale(key, value):
    """Whether an applied value is only what a page showed before the file changed under it."""
    return key in _replaced_by_reload and value == _replaced_by_reload[key]


def make_option_info(spec, value):
    if spec.kind == "checkbox":
        component, component_args = gr.Checkbox, None
    elif spec.kind == "dropdown":
        component, component_args = gr.Dropdown, {"choices": list(spec.choices)}
    else:
        component = gr.Slider
        component_args = {"minimum": spec.minimum, "maximum": spec.maximum, "step": spec.step}
    # Only keys that can appear in an infotext get a paste-back label ("Override settings").
    infotext = webui_options.infotext_key(spec.parameter.name) if spec.parameter in INFOTEXT_PARAMETERS else None
    info = shared.OptionInfo(value, spec.label, component, component_args, onchange=lambda: save_option(spec),
                             infotext=infotext)
    return info.info(spec.info)


def build_options():
    config = manager.config
    values = webui_options.option_values(config)
    options = {spec.key: make_option_info(spec, values[spec.key]) for spec in webui_options.setting_specs(config)}
    preset = shared.OptionInfo(presets.CUSTOM, "Apply a preset (writes its schedule values to the YAML)",
                               gr.Dropdown, lambda: {"choices": [presets.CUSTOM, *presets.preset_paths()]},
                               onchange=apply_preset_option)
    preset = preset.info("keeps your randomization keys; to apply the same preset again, choose custom first. "
                         + html.escape(presets.preset_guide()))
    options = {"kes_status": shared.OptionHTML(status_html()), PRESET_OPTION: preset, **options}
    return shared.options_section(webui_options.SETTINGS_SECTION, options)


def status_html():
    source = f"Values of <code>{html.escape(str(manager.path))}</code>, reloaded when the file is saved."
    if manager.last_error:
        return (f"{source}<br><b>The file has an error; the last good values stay in force:</b>"
                f"<pre>{html.escape(manager.last_error)}</pre>")
    notices = "".join(f"<br>Note: {html.escape(notice)}" for notice in manager.notices)
    return source + notices


def refresh_status():
    """The WebUI re-reads every setting's value when the page loads; keep the status line's current."""
    status = shared.opts.data_labels.get("kes_status")
    if status is not None:
        status.default = status_html()


def on_ui_settings():
    sync_options(manager.config)
    for key, info in build_options().items():
        shared.opts.add_option(key, info)


def save_option(spec):
    """onchange of one option: write it to the YAML (atomic, comments kept) unless it is stale."""
    value = shared.opts.data.get(spec.key)
    current = controls.to_control_value(spec.parameter, getattr(manager.config, spec.parameter.name))
    if value == current:
        return
    if is_stale(spec.key, value):
        shared.opts.data[spec.key] = current  # keep the newer value from the file
        return
    name = spec.parameter.name
    try:
        manager.save({name: controls.from_control_value(spec.parameter, value)})
    except ConfigError as error:  # the WebUI reverts the option and prints this
        raise ValueError(f"{spec.key} {value!r} was not written to {manager.path}: "
                         f"{'; '.join(problem.format() for problem in error.problems)}") from None


def apply_preset_option():
    """onchange of the preset dropdown: write the chosen preset's schedule values to the YAML."""
    name = shared.opts.data.get(PRESET_OPTION)
    if name != presets.CUSTOM:
        manager.save(presets.preset_values(name))  # raises: the WebUI reverts the option and shows why


def on_config_loaded(result):
    """Console lines for a load: its error, or what is in force now (also when a fix restores the last
    good values, so the error printed before is seen to be over)."""
    refresh_status()
    global _last_load_failed
    if result.error:
        _last_load_failed = True
        print(f"{LOG_PREFIX} {result.error}")
        return
    remember_replaced_values(result.config)
    sync_options(result.config)
    if result.changed or _last_load_failed:
        print(f"{LOG_PREFIX} loaded {manager.path}")
        for notice in result.notices:
            print(f"{LOG_PREFIX} note: {notice}")
    _last_load_failed = False


# --- generation: overrides in, infotext out -----------------------------------------------------------

class KarrasExponentialScript(scripts.Script):
    """Per generation: pass the seed and per-generation overrides to the scheduler, write the infotext."""

    def title(self):
        return "Karras Exponential"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        """The tuning panel (live chart, numbers, Save) in an accordion, closed until wanted."""
        prefix = "kes_img2img" if is_img2img else "kes_txt2img"
        with gr.Accordion("Karras Exponential", open=False, elem_id=f"{prefix}_accordion"):
            panel.build_panel(manager, elem_prefix=prefix)
        return []

    def process(self, p, *args):
        # X/Y/Z cells share extra_generation_params: drop what an earlier cell wrote.
        for key in [key for key in p.extra_generation_params if key.startswith(webui_options.INFOTEXT_PREFIX)]:
            del p.extra_generation_params[key]
        seeds = getattr(p, "all_seeds", None)
        seed = seeds[0] if seeds else getattr(p, "seed", None)
        overrides = webui_options.overrides_from_settings(getattr(p, "override_settings", None) or {})
        uses_kes = webui_options.uses_scheduler(getattr(p, "scheduler", None), getattr(p, "hr_scheduler", None))
        try:
            scheduler.start_generation(seed=seed, overrides=overrides)
        except ConfigError as error:
            any_schedule = {parameter.name for parameter in ANY_SCHEDULE_PARAMETERS}
            refuse_generation(p, error, uses_kes or any(problem.key in any_schedule for problem in error.problems))
            return
        effective, _ = scheduler.resolve()
        entries = webui_options.infotext_entries(effective, uses_kes, webui_mixing.has_image_pass(p))
        p.extra_generation_params.update(entries)
        start_guidance(effective.guidance)
        start_mixing(effective, seed)

    def process_before_every_sampling(self, p, *args, **kwargs):
        if guidance_run is not None and kwargs.get("noise") is not None:
            guidance_run.start_pass(kwargs["noise"], p.sampler)
        if mixing_run is not None and webui_mixing.is_second_pass(p) and kwargs.get("x") is not None:
            mixing_run.start_pass(p.sampler, kwargs["x"], kwargs["noise"])

    def postprocess_batch(self, p, *args, **kwargs):
        # The option that skipped the unconditional pass is ours to set, not the user's: kept out of the
        # infotext, which records "KES guidance: tnr_single" instead.
        if guidance_run is not None and guidance_run.mode == webui_guidance.TNR_SINGLE:
            p.extra_generation_params.pop(webui_guidance.SKIP_EARLY_CFG_INFOTEXT, None)

    def postprocess(self, p, processed, *args):
        scheduler.end_generation()
        end_guidance()
        start_mixing(None, None)


# --- per generation: True Noise Removal and iterative mixing -------------------------------------------

# The generation in progress when it uses TNR (generations run one at a time) and the Skip Early CFG
# value that tnr_single replaced for it; the generation in progress when it mixes.
guidance_run = None
_replaced_skip_early_cfg = None
mixing_run = None


def start_mixing(effective, seed):
    """Mixing for this generation's image passes when its config turns it on (None: no generation)."""
    global mixing_run
    mixing_run = None
    if effective is not None and effective.iterative_mixing:
        mixing_run = webui_mixing.IterativeMixingRun(effective, seed or 0)


def start_guidance(mode):
    global guidance_run, _replaced_skip_early_cfg
    end_guidance()
    if mode == webui_guidance.CFG:
        return
    guidance_run = webui_guidance.TrueNoiseRemovalRun(mode)
    if mode == webui_guidance.TNR_SINGLE:
        _replaced_skip_early_cfg = getattr(shared.opts, webui_guidance.SKIP_EARLY_CFG_OPTION, 0.0)
        setattr(shared.opts, webui_guidance.SKIP_EARLY_CFG_OPTION, 1.0)


def end_guidance():
    global guidance_run, _replaced_skip_early_cfg
    if _replaced_skip_early_cfg is not None:
        setattr(shared.opts, webui_guidance.SKIP_EARLY_CFG_OPTION, _replaced_skip_early_cfg)
    guidance_run, _replaced_skip_early_cfg = None, None


def on_cfg_denoiser(params):
    if guidance_run is not None:
        guidance_run.before_call(params.x, params.sigma)


def on_cfg_after_cfg(params):
    if guidance_run is not None:
        params.x = guidance_run.guided(params.x)


def refuse_generation(p, error, applies):
    """Stop a generation whose KES values failed, before its first sampling step.

    The WebUI's script runner only reports an exception from process() and samples anyway, and the
    scheduler refuses only the passes that use it; so every pass's sigmas are routed through the
    refusal (``sampler_noise_scheduler_override``, which the k-diffusion samplers call first), and a
    hires job stops before its first pass, not after it. ``applies``: the failing values concern this
    generation (it uses Karras Exponential, or the guidance choice failed); schedule values for another
    schedule type are ignored.
    """
    if not applies:
        print(f"{LOG_PREFIX} ignored, this generation does not use Karras Exponential: {error}")
        return
    print(f"{LOG_PREFIX} {error}")

    def refuse(steps):
        raise error

    p.sampler_noise_scheduler_override = refuse


def on_infotext_pasted(infotext, params):
    webui_options.complete_pasted_parameters(params, manager.config)


# --- X/Y/Z plot ---------------------------------------------------------------------------------------

def find_xyz_module():
    for data in scripts.scripts_data:
        if data.script_class.__module__ in ("xyz_grid.py", "scripts.xyz_grid"):
            return data.module
    return None


def make_axis(xyz, parameter):
    def confirm(p, values):
        """Refuse the whole grid before it starts if any cell's value fails, over the config in force."""
        label = webui_options.axis_label(parameter)
        for value in values:
            try:
                validate({parameter.name: controls.from_control_value(parameter, value)}, manager.config)
            except ConfigError as error:
                # "KES sharpness: -1 is out of range ..." (the message has the value), else value and problem.
                reasons = [f"{label}: {problem.message}" if problem.key == parameter.name
                           else f"{label} {value}: {problem.format()}" for problem in error.problems]
                raise ValueError("; ".join(reasons)) from None

    choices = (lambda: list(parameter.choices)) if parameter.choices else None
    return xyz.AxisOption(webui_options.axis_label(parameter), parameter.kind,
                          xyz.apply_override(webui_options.option_key(parameter.name)), confirm=confirm,
                          choices=choices)


def add_axes():
    xyz = find_xyz_module()
    if xyz is None:
        return
    existing = {option.label for option in xyz.axis_options}
    xyz.axis_options.extend(make_axis(xyz, parameter) for parameter in AXIS_PARAMETERS
                            if webui_options.axis_label(parameter) not in existing)


# --- API ----------------------------------------------------------------------------------------------

def config_route():
    """GET /karras-exponential/v1/config: the config in force, its file and the last load error."""
    return {"config": manager.config.to_dict(), "source": str(manager.path), "last_error": manager.last_error,
            "notices": list(manager.notices), "scheduler": {"name": webui_options.SCHEDULER_NAME,
                                                            "label": webui_options.SCHEDULER_LABEL}}


def on_app_started(demo, app):
    app.add_api_route("/karras-exponential/v1/config", config_route, methods=["GET"])


# --- lifetime -----------------------------------------------------------------------------------------

def on_script_unloaded():
    unsubscribe()
    manager.stop()
    scheduler.end_generation()
    end_guidance()
    start_mixing(None, None)


if sd_schedulers is not None:
    register_scheduler()
    register_guide_schedules()
    register_cfg_pp_samplers()
    manager.start()
    unsubscribe = manager.subscribe(on_config_loaded)
    sync_options(manager.config)
    # Registered at import as well as in on_ui_settings: with --nowebui the callback never runs,
    # and the API must still read and set these options.
    shared.options_templates.update(build_options())
    script_callbacks.on_ui_settings(on_ui_settings)
    script_callbacks.on_infotext_pasted(on_infotext_pasted)
    script_callbacks.on_cfg_denoiser(on_cfg_denoiser)
    script_callbacks.on_cfg_after_cfg(on_cfg_after_cfg)
    script_callbacks.on_before_ui(add_axes)
    script_callbacks.on_app_started(on_app_started)
    script_callbacks.on_script_unloaded(on_script_unloaded)
else:
    del KarrasExponentialScript  # stay inert: no script in the UI either
