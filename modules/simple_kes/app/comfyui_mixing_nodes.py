"""The seed's iterative mixing nodes for ComfyUI: Batch Unsampler, Iterative Mixing KSampler (and Advanced).

Names and inputs follow ``../shared/seeds/iterative-mixing-nodes.md``; the maths is the core's
``simple_kes.mixing``. ComfyUI's LATENT is the VAE's latent; the model works on ``latent_format.process_in``
of it (SD 1.x: times 0.18215), so the unsampler noises in LATENT space with sigma divided by the scale
factor, which is the model's sigma once the sampler scales the batch in. ComfyUI is imported inside the
functions: the pack's ``__init__.py`` loads this module only inside ComfyUI.

Where the seed is silent or unsure (docs/decisions.md):
- ``seed`` on the Batch Unsampler (an input the seed lacks): the one noise tensor all copies share;
- ``denoise``: mixing and sampling run over the last ``round(steps * denoise)`` steps of the schedule, from
  the unsampled latent at that noise level, so a lower denoise starts closer to the upscaled image;
- the first copy of the batch at sigma 0 (the upscaled latent itself) is where the sampler's image comes
  from when the blending schedule does not mix fully at the first step.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import mixing

CATEGORY = "sampling/iterative_mixing"


def _samplers() -> list[str]:
    """ComfyUI's k-diffusion samplers that the mixing supports, in ComfyUI's order."""
    import comfy.samplers
    return [name for name in comfy.samplers.KSampler.SAMPLERS if name in mixing.CALLS_PER_STEP]


def _schedulers() -> list[str]:
    import comfy.samplers
    return comfy.samplers.KSampler.SCHEDULERS


def _scale_factor(model: Any) -> float:
    return float(model.get_model_object("latent_format").scale_factor)


def _schedule(model: Any, scheduler: str, steps: int) -> torch.Tensor:
    import comfy.samplers
    return comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), scheduler, steps).cpu()


class BatchUnsampler:
    """A latent noised along the model's own sigmas into progressively noisier latents, least noisy first."""

    DESCRIPTION = ("Noises a latent along the schedule of the chosen scheduler and steps into steps + 1 progressively "
                   "noisier latents (least noisy first), for the Iterative Mixing KSampler.")
    RETURN_TYPES = ("LATENT",)
    FUNCTION = "unsample"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return {"required": {
            "model": ("MODEL",),
            "sampler_name": (_samplers(), {"tooltip": "the sampler the mixing will use (its schedule is the one "
                                                      "noised along)"}),
            "scheduler": (_schedulers(),),
            "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
            "start_at_step": ("INT", {"default": 0, "min": 0, "max": 10000}),
            "end_at_step": ("INT", {"default": 10000, "min": 0, "max": 10000,
                                    "tooltip": "the last step to noise to; past steps means all of them"}),
            "latent_image": ("LATENT",),
            "normalize_fraction": ("FLOAT", {"default": 0.0, "min": 0.0, "max": 1.0, "step": 0.01, "tooltip": (
                "remove the per-channel mean of this share of the noisiest latents from all of them; 0 is off")}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF,
                             "tooltip": "seeds the one noise every copy shares"}),
        }}

    def unsample(self, model, sampler_name, scheduler, steps, start_at_step, end_at_step, latent_image,
                 normalize_fraction, seed):
        latent = latent_image["samples"]
        if latent.shape[0] != 1:
            raise ValueError(f"latent_image: a batch of {latent.shape[0]}; the Batch Unsampler takes one latent "
                             "(its output batch is the noised copies)")
        mixing.calls_per_step(sampler_name)
        sigmas = _schedule(model, scheduler, steps) / _scale_factor(model)
        noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(seed), dtype=latent.dtype)
        end = min(end_at_step, steps)
        copies = mixing.unsample(latent, sigmas, noise, start_at_step=start_at_step, end_at_step=end,
                                 normalize_fraction=normalize_fraction)
        # Where the copies lie on the schedule, for the mixer (a batch alone would not say).
        return ({"samples": copies[:, 0], "unsampled_steps": steps, "unsampled_start": start_at_step,
                 "unsampled_end": end},)


def _mixing_sampler(sampler_name: str, unsampled: torch.Tensor, weights: list[float]):
    """A ComfyUI KSAMPLER: ``sampler_name``'s k-diffusion function with the mixing denoiser around the model."""
    import comfy.samplers
    from comfy.k_diffusion import sampling as comfy_sampling

    base = getattr(comfy_sampling, f"sample_{sampler_name}")
    per_step = mixing.calls_per_step(sampler_name)

    def sample(model, x, sigmas, extra_args=None, callback=None, disable=None, **options):
        denoiser = mixing.MixingDenoiser(model, unsampled.to(x), weights, sigmas, per_step)
        return base(denoiser, x, sigmas, extra_args=extra_args, callback=callback, disable=disable, **options)

    return comfy.samplers.KSAMPLER(sample)


def iterative_mixing(model, positive, negative, latent_batch, seed, steps, cfg, sampler_name, scheduler, denoise,
                     alpha_1, reverse_input_batch, blending_schedule, stop_blending_at_pct):
    """Sample the last steps of the batch's schedule, mixing in the unsampled copy of each step's noise level.

    The copies cover ``sigmas[start : end + 1]`` of a ``steps``-step schedule (the Batch Unsampler records
    where; a batch without that record is taken to end at sigma 0). Sampling runs from step
    ``max(start, steps - round(steps * denoise))``; steps past the last copy are sampled without mixing.
    """
    import comfy.sample

    samples = latent_batch["samples"]
    copies = samples.flip(0) if reverse_input_batch else samples  # noisiest first
    start = latent_batch.get("unsampled_start", steps + 1 - len(copies))
    end = latent_batch.get("unsampled_end", steps)
    made_for = latent_batch.get("unsampled_steps", steps)
    if made_for != steps or start < 0 or end - start + 1 != len(copies) or end > steps:
        raise ValueError(f"latent_image_batch: {len(copies)} latents do not fit a {steps}-step schedule; use the "
                         "Batch Unsampler's steps and scheduler here")
    first = max(start, steps - round(steps * min(denoise, 1.0)))
    if first >= steps:
        return copies[-1:]
    sigmas = _schedule(model, scheduler, steps)[first:]
    available = copies[first - start:end - start + 1]
    weights = mixing.blending_weights(steps - first, blending_schedule, alpha_1, stop_blending_at_pct)
    weights = weights[:min(len(weights), end - first + (1 if end < steps else 0))]
    unsampled = model.get_model_object("latent_format").process_in(available[:len(weights)])
    latent_image = copies[-1:]
    noise = comfy.sample.prepare_noise(latent_image, seed)
    return comfy.sample.sample_custom(model, noise, cfg, _mixing_sampler(sampler_name, unsampled, weights), sigmas,
                                      positive, negative, latent_image, seed=seed)


def _mixing_inputs(with_steps: bool) -> dict[str, Any]:
    required = {
        "model": ("MODEL",),
        "positive": ("CONDITIONING",),
        "negative": ("CONDITIONING",),
        "latent_image_batch": ("LATENT", {"tooltip": "the Batch Unsampler's output"}),
        "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF}),
    }
    if with_steps:
        required["steps"] = ("INT", {"default": 20, "min": 1, "max": 10000,
                                     "tooltip": "the Batch Unsampler's steps"})
    required.update({
        "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}),
        "sampler_name": (_samplers(),),
        "scheduler": (_schedulers(), {"tooltip": "must be the Batch Unsampler's scheduler"}),
        "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01, "tooltip": (
            "mix and sample over the last denoise x steps only, starting from the unsampled latent at that noise "
            "level: lower keeps more of the upscaled image")}),
        "alpha_1": ("FLOAT", {"default": 1.0, "min": 0.01, "max": 10.0, "step": 0.01, "tooltip": (
            "shape of the cosine and logistic schedules: higher mixes in less, sooner (DemoFusion's direction); "
            "try 0.1 to 2")}),
        "reverse_input_batch": ("BOOLEAN", {"default": True, "tooltip": "the Batch Unsampler's batch is least noisy "
                                                                      "first; sampling starts from the noisiest"}),
        "blending_schedule": (list(mixing.BLENDING_SCHEDULES), {"default": "cosine"}),
        "stop_blending_at_pct": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.01, "tooltip": (
            "end the mixing at this fraction of the steps; above 1 stretches it past the last step")}),
    })
    return {"required": required}


class IterativeMixingKSampler:
    """Denoises the noisiest latent of the batch, mixing in the next noised latent of the batch at each step."""

    DESCRIPTION = ("Samples from the Batch Unsampler's noisiest latent, mixing the unsampled latent at the same noise "
                   "level into the sampler's latent at every step (DemoFusion's skip residual).")
    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = CATEGORY

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _mixing_inputs(with_steps=True)

    def sample(self, model, positive, negative, latent_image_batch, seed, steps, cfg, sampler_name, scheduler, denoise,
               alpha_1, reverse_input_batch, blending_schedule, stop_blending_at_pct):
        samples = iterative_mixing(model, positive, negative, latent_image_batch, seed, steps, cfg, sampler_name,
                                   scheduler, denoise, alpha_1, reverse_input_batch, blending_schedule,
                                   stop_blending_at_pct)
        return ({"samples": samples},)


class IterativeMixingKSamplerAdv(IterativeMixingKSampler):
    """The same, with the steps taken from the batch (its length - 1)."""

    @classmethod
    def INPUT_TYPES(cls) -> dict[str, Any]:
        return _mixing_inputs(with_steps=False)

    def sample(self, model, positive, negative, latent_image_batch, seed, cfg, sampler_name, scheduler, denoise,
               alpha_1, reverse_input_batch, blending_schedule, stop_blending_at_pct):
        steps = latent_image_batch.get("unsampled_steps", len(latent_image_batch["samples"]) - 1)
        return super().sample(model, positive, negative, latent_image_batch, seed, steps, cfg, sampler_name,
                              scheduler, denoise, alpha_1, reverse_input_batch, blending_schedule, stop_blending_at_pct)


NODE_CLASS_MAPPINGS = {
    "BatchUnsampler": BatchUnsampler,
    "IterativeMixingKSampler": IterativeMixingKSampler,
    "IterativeMixingKSamplerAdv": IterativeMixingKSamplerAdv,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "BatchUnsampler": "Batch Unsampler",
    "IterativeMixingKSampler": "Iterative Mixing KSampler",
    "IterativeMixingKSamplerAdv": "Iterative Mixing KSampler Advanced",
}
