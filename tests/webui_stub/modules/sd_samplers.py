"""Stand-in for modules/sd_samplers.py (A1111 1.10): every sampler, the visible lists and the name map.

``all_samplers`` is built once at import; ``samplers`` and ``samplers_for_img2img`` are the same list
object after ``set_samplers()``, which rebuilds only the lower-cased name and alias map.
"""

from modules import sd_samplers_kdiffusion, shared

all_samplers = [*sd_samplers_kdiffusion.samplers_data_k_diffusion]
all_samplers_map = {x.name: x for x in all_samplers}

samplers = []
samplers_for_img2img = []
samplers_map = {}
samplers_hidden = set()


def find_sampler_config(name):
    return all_samplers_map.get(name, None) if name is not None else all_samplers[0]


def create_sampler(name, model):
    config = find_sampler_config(name)
    assert config is not None, f"bad sampler name: {name}"
    sampler = config.constructor(model)
    sampler.config = config
    return sampler


def set_samplers():
    global samplers, samplers_for_img2img, samplers_hidden
    samplers_hidden = set(getattr(shared.opts, "hide_samplers", []) or [])
    samplers = all_samplers
    samplers_for_img2img = all_samplers
    samplers_map.clear()
    for sampler in all_samplers:
        samplers_map[sampler.name.lower()] = sampler.name
        for alias in sampler.aliases:
            samplers_map[alias.lower()] = sampler.name


def visible_sampler_names():
    return [x.name for x in samplers if x.name not in samplers_hidden]


set_samplers()
