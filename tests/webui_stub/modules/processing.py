"""Stand-in for the parts of processing and sampling that reach a scheduler.

``process_images`` keeps the WebUI's order: apply override_settings (without onchange), run the
always-visible scripts' process() (an exception there is reported and swallowed, as ScriptRunner
does), ask the sampler for sigmas (again for the hires pass), run
postprocess(), restore the overridden settings. With a ``sampler_name`` it also samples, through
sd_samplers as the WebUI does, a model whose answer is known (``sd_samplers_kdiffusion``), and keeps
the result in ``p.samples``. ``get_sigmas`` mirrors
KDiffusionSampler.get_sigmas: scheduler by name or label, the model's range, a keyword call.
"""

import dataclasses
import json
import re

import torch

from modules import errors, scripts, shared

MODEL_SIGMA_MIN, MODEL_SIGMA_MAX = 0.0292, 14.6146
# How often the hires pass calls process_before_every_sampling: A1111 once, Forge twice.
HIRES_ANNOUNCEMENTS = 1


@dataclasses.dataclass
class StableDiffusionProcessing:
    steps: int = 20
    scheduler: str = "Automatic"
    hr_scheduler: str = None
    enable_hr: bool = False
    hr_second_pass_steps: int = 0
    seed: int = -1
    all_seeds: list = None
    override_settings: dict = dataclasses.field(default_factory=dict)
    override_settings_restore_afterwards: bool = True
    extra_generation_params: dict = dataclasses.field(default_factory=dict)
    is_hr_pass: bool = False
    sampler_noise_scheduler_override: object = None
    sampler_name: str = None
    cfg_scale: float = 7.0
    eta: float = None
    s_min_uncond: float = 0.0
    denoising_strength: float = 0.5
    samples: object = None
    infotext: str = None


def get_sigmas(p, steps):
    from modules import sd_schedulers  # absent before A1111 1.9
    scheduler_name = (p.hr_scheduler if p.is_hr_pass else p.scheduler) or "Automatic"
    if scheduler_name == "Automatic":
        scheduler_name = None  # the sampler's default; the stand-in samplers have none
    scheduler = sd_schedulers.schedulers_map.get(scheduler_name)
    if p.sampler_noise_scheduler_override:
        return p.sampler_noise_scheduler_override(steps)
    if scheduler is None or scheduler.function is None:
        return None  # the WebUI falls back to the model's own discrete schedule here
    if not p.is_hr_pass:
        p.extra_generation_params["Schedule type"] = scheduler.label
    elif scheduler.label != p.extra_generation_params.get("Schedule type"):
        p.extra_generation_params["Hires schedule type"] = scheduler.label
    sigmas_kwargs = {"sigma_min": MODEL_SIGMA_MIN, "sigma_max": MODEL_SIGMA_MAX}
    return scheduler.function(n=steps, **sigmas_kwargs, device=torch.device("cpu"))


def always_visible_scripts():
    return [data.script_class() for data in scripts.scripts_data
            if data.script_class().show(False) is scripts.AlwaysVisible]


def process_images(p):
    """Returns the first pass's sigmas, and the hires pass's when enabled."""
    stored = {key: shared.opts.data.get(key) for key in p.override_settings if key in shared.opts.data}
    try:
        for key, value in p.override_settings.items():
            shared.opts.set(key, value, is_api=True, run_callbacks=False)
        if p.seed == -1:
            p.seed = 1234
        p.all_seeds = [p.seed]
        runners = always_visible_scripts()
        for script in runners:
            # ScriptRunner.process: a script's exception is reported and the generation goes on.
            try:
                script.process(p)
            except Exception as error:
                errors.report(f"Error running process: {error}", exc_info=True)
        sigmas = [get_sigmas(p, p.steps)]
        if p.sampler_name:
            p.samples = sample(p, runners)
            if p.enable_hr:
                p.samples = sample_hires(p, runners)
            for script in runners:
                script.postprocess_batch(p, p.samples, batch_number=0)
            p.infotext = create_infotext(p)
        if p.enable_hr:
            p.is_hr_pass = True
            sigmas.append(get_sigmas(p, p.hr_second_pass_steps or p.steps))
            p.is_hr_pass = False
        for script in runners:
            script.postprocess(p, None)
        return sigmas
    finally:
        if p.override_settings_restore_afterwards:
            for key, value in stored.items():
                setattr(shared.opts, key, value)


def sample(p, runners=()):
    """The first pass with the chosen sampler: conditioning 1 (the data's mean), unconditional 0. As in the
    WebUI, the scripts' process_before_every_sampling sees the sampler's start and noise first."""
    from modules import sd_samplers
    sampler = sd_samplers.create_sampler(p.sampler_name, None)
    p.sampler = sampler
    noise = torch.randn((1, 4), generator=torch.Generator().manual_seed(p.seed))
    cond, uncond = torch.ones(1, 4), torch.zeros(1, 4)
    for script in runners:
        script.process_before_every_sampling(p, x=noise, noise=noise, c=cond, uc=uncond)
    samples = sampler.sample(p, noise, cond, uncond)
    return samples


def sample_hires(p, runners=()):
    """The hires fix's second pass, as the WebUI's: a new sampler, the first pass's latent ("upscaled": the
    stand-in's latent has no size), fresh seeded noise, process_before_every_sampling, then sample_img2img."""
    from modules import sd_samplers
    p.is_hr_pass = True
    try:
        sampler = sd_samplers.create_sampler(p.sampler_name, None)
        p.sampler = sampler
        noise = torch.randn((1, 4), generator=torch.Generator().manual_seed(p.seed + 1))
        cond, uncond = torch.ones(1, 4), torch.zeros(1, 4)
        for _ in range(HIRES_ANNOUNCEMENTS):
            for script in runners:
                script.process_before_every_sampling(p, x=p.samples, noise=noise, c=cond, uc=uncond)
        return sampler.sample_img2img(p, p.samples, noise, cond, uncond, steps=p.hr_second_pass_steps or p.steps)
    finally:
        p.is_hr_pass = False


def create_infotext(p):
    """The parameters line of a PNG: values with ',', ':' or a newline are JSON-quoted."""
    def quote(text):
        text = str(text)
        return json.dumps(text, ensure_ascii=False) if any(c in text for c in ",\n:") else text
    params = {"Steps": p.steps, "Seed": p.all_seeds[0], "Schedule type": p.scheduler, **p.extra_generation_params}
    return ", ".join(f"{key}: {quote(value)}" for key, value in params.items() if value is not None)


# The WebUI's infotext parser for the parameters line.
PARAMETER_PATTERN = re.compile(r"\s*(\w[\w \-/]+):\s*(\"(?:\\.|[^\\\"])+\"|[^,]*)(?:,|$)")


def parse_generation_parameters(line):
    params = {}
    for key, value in PARAMETER_PATTERN.findall(line):
        value = value.strip()
        if value.startswith('"') and value.endswith('"'):
            value = json.loads(value)
        params[key] = value
    params.setdefault("Schedule type", "Automatic")
    return params
