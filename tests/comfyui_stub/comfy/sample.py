"""comfy.sample: the seeded noise of a latent and sampling with a SAMPLER object over given sigmas.

As ComfyUI does: the LATENT is scaled into the model's space (``latent_format.process_in``), the start is
``latent + sigmas[0] * noise``, the SAMPLER's function runs with the model as its denoiser, and the result
is scaled back out. The stand-in's model ignores the conditioning and the CFG scale.
"""

import torch


def prepare_noise(latent_image, seed, noise_inds=None):
    generator = torch.manual_seed(seed)
    return torch.randn(latent_image.size(), dtype=latent_image.dtype, layout=latent_image.layout, generator=generator,
                       device="cpu")


def sample_custom(model, noise, cfg, sampler, sigmas, positive, negative, latent_image, noise_mask=None,
                  callback=None, disable_pbar=False, seed=None):
    latent_format = model.get_model_object("latent_format")
    x = latent_format.process_in(latent_image) + noise * sigmas[0]
    samples = sampler.sampler_function(model.denoiser, x, sigmas, extra_args={}, callback=None, disable=True)
    return latent_format.process_out(samples)
