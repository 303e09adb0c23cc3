"""The iterative mixing nodes against the ComfyUI stand-in: the seed's three nodes, their inputs, the
unsampled batch, and the mixer against a hand-written Euler loop in the model's latent space."""

from __future__ import annotations

import pytest
import torch

from simple_kes import mixing
from simple_kes.app import comfyui_mixing_nodes as nodes_module

SCALE = 0.18215
STEPS = 6


@pytest.fixture
def model(comfyui):
    import comfy.model_patcher
    return comfy.model_patcher.ModelPatcher()


LATENT = torch.randn((1, 4, 3, 3), generator=torch.Generator().manual_seed(4))


def karras(model, steps=STEPS):
    import comfy.samplers
    return comfy.samplers.calculate_sigmas(model.get_model_object("model_sampling"), "karras", steps)


def unsampled_batch(model, **inputs):
    arguments = dict(sampler_name="euler", scheduler="karras", steps=STEPS, start_at_step=0, end_at_step=10000,
                     latent_image={"samples": LATENT}, normalize_fraction=0.0, seed=9)
    arguments.update(inputs)
    return nodes_module.BatchUnsampler().unsample(model, **arguments)[0]


def test_the_seeds_three_nodes_load_with_their_names_and_inputs(comfyui):
    names = comfyui.NODE_DISPLAY_NAME_MAPPINGS
    assert {names[key] for key in nodes_module.NODE_CLASS_MAPPINGS} == {
        "Batch Unsampler", "Iterative Mixing KSampler", "Iterative Mixing KSampler Advanced"}
    unsampler = comfyui.NODE_CLASS_MAPPINGS["BatchUnsampler"].INPUT_TYPES()["required"]
    assert {"model", "sampler_name", "scheduler", "steps", "start_at_step", "end_at_step", "latent_image",
            "normalize_fraction"} <= set(unsampler)
    mixer = comfyui.NODE_CLASS_MAPPINGS["IterativeMixingKSampler"].INPUT_TYPES()["required"]
    seed_inputs = {"model", "positive", "negative", "latent_image_batch", "seed", "steps", "cfg", "sampler_name",
                   "scheduler", "denoise", "alpha_1", "reverse_input_batch", "blending_schedule",
                   "stop_blending_at_pct"}
    assert set(mixer) == seed_inputs
    advanced = comfyui.NODE_CLASS_MAPPINGS["IterativeMixingKSamplerAdv"].INPUT_TYPES()["required"]
    assert set(advanced) == seed_inputs - {"steps"}, "the Advanced node takes its steps from the batch"
    assert mixer["sampler_name"][0] == ["euler", "euler_ancestral", "heun", "dpmpp_2m"], "dpm_fast is not offered"
    assert mixer["blending_schedule"][0] == ["cosine", "linear", "logistic"]


def test_the_unsampler_noises_along_the_models_sigmas_least_noisy_first(model):
    batch = unsampled_batch(model)
    copies = batch["samples"]
    assert copies.shape == (STEPS + 1, 4, 3, 3) and torch.equal(copies[:1], LATENT)
    noise = torch.randn(LATENT.shape, generator=torch.Generator().manual_seed(9))
    for k, sigma in enumerate(karras(model).flip(0)):
        # In the model's space (times the scale factor) each copy is the scaled latent plus sigma x noise.
        assert torch.allclose(copies[k:k + 1] * SCALE, LATENT * SCALE + sigma * noise, atol=1e-6)
    assert torch.equal(unsampled_batch(model)["samples"], copies), "seeded"
    with pytest.raises(ValueError, match="a batch of 2; the Batch Unsampler takes one latent"):
        unsampled_batch(model, latent_image={"samples": torch.cat([LATENT, LATENT])})


def hand_written_euler(model, batch, seed, steps, weights, first=0):
    """Euler in the model's space from the least noisy copy plus seeded noise, mixing before each step."""
    import comfy.sample
    copies = batch.flip(0)
    sigmas = karras(model, steps)[first:]
    clean = copies[-1:]
    x = clean * SCALE + comfy.sample.prepare_noise(clean, seed) * sigmas[0]
    for i in range(len(sigmas) - 1):
        if i < len(weights):
            x = weights[i] * copies[first + i:first + i + 1] * SCALE + (1 - weights[i]) * x
        denoised = model.denoiser(x, sigmas[i].reshape(1))
        x = x + (x - denoised) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
    return x / SCALE


def mix(model, node="IterativeMixingKSampler", **inputs):
    batch = unsampled_batch(model)
    arguments = dict(positive=[], negative=[], latent_image_batch=batch, seed=3, steps=STEPS, cfg=5.0,
                     sampler_name="euler", scheduler="karras", denoise=1.0, alpha_1=0.8, reverse_input_batch=True,
                     blending_schedule="cosine", stop_blending_at_pct=1.0)
    arguments.update(inputs)
    if node == "IterativeMixingKSamplerAdv":
        del arguments["steps"]
    return getattr(nodes_module, node)().sample(model, **arguments)[0]["samples"], batch["samples"]


def test_the_mixer_is_the_hand_written_euler_loop_in_the_models_space(model):
    ours, batch = mix(model)
    weights = mixing.blending_weights(STEPS, "cosine", 0.8, 1.0)
    assert torch.allclose(ours, hand_written_euler(model, batch, 3, STEPS, weights), atol=1e-5)
    advanced, _ = mix(model, node="IterativeMixingKSamplerAdv")
    assert torch.equal(advanced, ours), "the Advanced node reads the steps from the batch"


def test_denoise_mixes_and_samples_over_the_last_part_of_the_schedule(model):
    ours, batch = mix(model, denoise=0.5, blending_schedule="linear")
    weights = mixing.blending_weights(3, "linear", 0.8, 1.0)
    assert torch.allclose(ours, hand_written_euler(model, batch, 3, STEPS, weights, first=3), atol=1e-5)
    nothing, batch = mix(model, denoise=0.0)
    assert torch.equal(nothing, batch[:1]), "denoise 0 returns the upscaled latent"


def test_a_batch_that_does_not_fit_the_steps_is_a_clear_error(model):
    with pytest.raises(ValueError, match="7 latents do not fit a 9-step schedule; use the Batch Unsampler's steps"):
        mix(model, steps=9)


def test_a_partial_unsampling_mixes_only_where_it_has_latents(model):
    """start_at_step 2: the batch covers sigmas[2:], so sampling runs from step 2 on."""
    batch = unsampled_batch(model, start_at_step=2)
    assert len(batch["samples"]) == STEPS - 1
    ours = nodes_module.IterativeMixingKSamplerAdv().sample(
        model, [], [], batch, 3, 5.0, "euler", "karras", 1.0, 1.0, True, "cosine", 1.0)[0]["samples"]
    weights = mixing.blending_weights(STEPS - 2, "cosine", 1.0, 1.0)
    full = torch.cat([torch.zeros(2, *LATENT.shape[1:]), batch["samples"].flip(0)]).flip(0)
    assert torch.allclose(ours, hand_written_euler(model, full, 3, STEPS, weights, first=2), atol=1e-5)
