"""Stand-in for modules/script_callbacks.py: registration, clearing, and the invokers the WebUI calls.

As in the WebUI, an invoker reports a failing callback through errors.report and goes on; the
script_unloaded and before_ui callbacks run in reverse registration order.
"""

from modules import errors

callback_map = {name: [] for name in ("ui_settings", "before_ui", "app_started", "script_unloaded",
                                      "infotext_pasted", "cfg_denoiser", "cfg_after_cfg")}


class CFGDenoiserParams:
    """What the CFG denoiser is about to call the model with: x, sigma (conditional rows first, the image
    rows last), the step, and the denoiser itself."""

    def __init__(self, x, image_cond, sigma, sampling_step, total_sampling_steps, text_cond, text_uncond,
                 denoiser=None):
        self.x, self.image_cond, self.sigma = x, image_cond, sigma
        self.sampling_step, self.total_sampling_steps = sampling_step, total_sampling_steps
        self.text_cond, self.text_uncond, self.denoiser = text_cond, text_uncond, denoiser


class AfterCFGCallbackParams:
    """The combined prediction (``x``), which a callback may replace."""

    def __init__(self, x, sampling_step, total_sampling_steps):
        self.x, self.sampling_step, self.total_sampling_steps = x, sampling_step, total_sampling_steps


def clear_callbacks():
    for callbacks in callback_map.values():
        callbacks.clear()


def _run(category, *args, reverse=False):
    callbacks = list(callback_map[category])
    for callback in reversed(callbacks) if reverse else callbacks:
        try:
            callback(*args)
        except Exception as exception:  # the WebUI reports and continues
            errors.report(f"Error executing callback {callback} for {category}: {exception!r}", exc_info=True)


def cfg_denoiser_callback(params):
    _run("cfg_denoiser", params)


def cfg_after_cfg_callback(params):
    _run("cfg_after_cfg", params)


def on_cfg_denoiser(callback, *, name=None):
    callback_map["cfg_denoiser"].append(callback)


def on_cfg_after_cfg(callback, *, name=None):
    callback_map["cfg_after_cfg"].append(callback)


def app_started_callback(demo, app):
    _run("app_started", demo, app)


def ui_settings_callback():
    _run("ui_settings")


def infotext_pasted_callback(infotext, params):
    _run("infotext_pasted", infotext, params)


def script_unloaded_callback():
    _run("script_unloaded", reverse=True)


def before_ui_callback():
    _run("before_ui", reverse=True)


def on_app_started(callback, *, name=None):
    callback_map["app_started"].append(callback)


def on_ui_settings(callback, *, name=None):
    callback_map["ui_settings"].append(callback)


def on_infotext_pasted(callback, *, name=None):
    callback_map["infotext_pasted"].append(callback)


def on_script_unloaded(callback, *, name=None):
    callback_map["script_unloaded"].append(callback)


def on_before_ui(callback, *, name=None):
    callback_map["before_ui"].append(callback)
