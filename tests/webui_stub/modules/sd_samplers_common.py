"""Stand-in for modules/sd_samplers_common.py: SamplerData and the base Sampler's initialize()."""

import inspect
from collections import namedtuple

SamplerDataTuple = namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])


class SamplerData(SamplerDataTuple):
    def total_steps(self, steps):
        return steps * 2 if self.options.get("second_order", False) else steps


class Sampler:
    def __init__(self, funcname):
        self.funcname = funcname
        self.func = funcname
        self.extra_params = []
        self.sampler_extra_args = {}
        self.eta_option_field = "eta_ancestral"
        self.eta_infotext_field = "Eta"
        self.eta_default = 1.0
        self.config = None  # set by the function calling the constructor
        self.last_latent = None

    def initialize(self, p):
        """As the WebUI's: eta goes to any sampler function that takes it (recorded when not the default)."""
        self.p = p
        self.model_wrap_cfg.p = p
        self.model_wrap_cfg.step = 0
        self.eta = p.eta if p.eta is not None else 1.0
        self.s_min_uncond = getattr(p, "s_min_uncond", 0.0)
        extra_params_kwargs = {}
        if "eta" in inspect.signature(self.func).parameters:
            if self.eta != self.eta_default:
                p.extra_generation_params[self.eta_infotext_field] = self.eta
            extra_params_kwargs["eta"] = self.eta
        return extra_params_kwargs

    def callback_state(self, d):
        self.last_latent = d["denoised"]
