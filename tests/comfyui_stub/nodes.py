"""The node registry, the custom-node loader, and the stand-ins of the built-in nodes the tests wire up."""

import importlib.util
import os
import sys

import torch

import comfy.model_patcher
import comfy.samplers
from comfy.k_diffusion import sampling as k_diffusion_sampling
from comfy_extras.nodes_custom_sampler import BasicScheduler


class CheckpointLoaderSimple:
    """Stand-in: an SD 1.x MODEL whose denoiser is exact for Gaussian data of variance 0.25; CLIP, VAE tokens."""

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"ckpt_name": (["tiny-sd15.safetensors", "v1-5-pruned-emaonly.safetensors"],)}}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    def load_checkpoint(self, ckpt_name):
        return (comfy.model_patcher.ModelPatcher(), "clip", "vae")


class CLIPTextEncode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"text": ("STRING", {"multiline": True}), "clip": ("CLIP",)}}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, clip, text):
        return ([[text, {}]],)


def gaussian_denoiser(x, sigma, **kwargs):
    return x * 0.25 / (0.25 + sigma[:, None, None, None] ** 2)


def latent_noise(seed, latent):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(latent["samples"].shape, generator=generator)


class KSampler:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",),
                             "seed": ("INT", {"default": 0, "min": 0, "max": 0xffffffffffffffff}),
                             "steps": ("INT", {"default": 20, "min": 1, "max": 10000}),
                             "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1}),
                             "sampler_name": (comfy.samplers.KSampler.SAMPLERS,),
                             "scheduler": (comfy.samplers.KSampler.SCHEDULERS,),
                             "positive": ("CONDITIONING",),
                             "negative": ("CONDITIONING",),
                             "latent_image": ("LATENT",),
                             "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01})}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    def sample(self, model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise):
        sampler = comfy.samplers.KSampler(model, steps, "cpu", sampler_name, scheduler, denoise)
        samples = sampler.sample(gaussian_denoiser, latent_noise(seed, latent_image))
        return ({"samples": samples, "sigmas": sampler.sigmas},)


class KSamplerSelect:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"sampler_name": (comfy.samplers.SAMPLER_NAMES,)}}

    RETURN_TYPES = ("SAMPLER",)
    FUNCTION = "get_sampler"
    CATEGORY = "sampling/custom_sampling/samplers"

    def get_sampler(self, sampler_name):
        return (sampler_name,)


class SamplerCustom:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"model": ("MODEL",),
                             "add_noise": ("BOOLEAN", {"default": True}),
                             "noise_seed": ("INT", {"default": 0, "min": 0, "max": 0xffffffffffffffff}),
                             "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1}),
                             "positive": ("CONDITIONING",),
                             "negative": ("CONDITIONING",),
                             "sampler": ("SAMPLER",),
                             "sigmas": ("SIGMAS",),
                             "latent_image": ("LATENT",)}}

    RETURN_TYPES = ("LATENT", "LATENT")
    RETURN_NAMES = ("output", "denoised_output")
    FUNCTION = "sample"
    CATEGORY = "sampling/custom_sampling"

    def sample(self, model, add_noise, noise_seed, cfg, positive, negative, sampler, sigmas, latent_image):
        noise = latent_noise(noise_seed, latent_image) * sigmas[0] if add_noise else latent_image["samples"]
        sample = getattr(k_diffusion_sampling, f"sample_{sampler}")
        samples = sample(gaussian_denoiser, noise, sigmas, disable=True)
        latent = {"samples": samples, "sigmas": sigmas}
        return (latent, latent)


class EmptyLatentImage:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"width": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8}),
                             "height": ("INT", {"default": 512, "min": 16, "max": 16384, "step": 8}),
                             "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096})}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "generate"
    CATEGORY = "latent"

    def generate(self, width, height, batch_size=1):
        return ({"samples": torch.zeros([batch_size, 4, height // 8, width // 8])},)


class LatentUpscaleBy:
    upscale_methods = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]

    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"samples": ("LATENT",), "upscale_method": (s.upscale_methods,),
                             "scale_by": ("FLOAT", {"default": 1.5, "min": 0.01, "max": 8.0, "step": 0.01})}}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "upscale"
    CATEGORY = "latent"

    def upscale(self, samples, upscale_method, scale_by):
        latent = samples["samples"]
        size = (round(latent.shape[-2] * scale_by), round(latent.shape[-1] * scale_by))
        mode = "bilinear" if upscale_method in ("bilinear", "bislerp") else "nearest"
        return ({**samples, "samples": torch.nn.functional.interpolate(latent, size=size, mode=mode)},)


class VAEDecode:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"samples": ("LATENT",), "vae": ("VAE",)}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "decode"
    CATEGORY = "latent"

    def decode(self, vae, samples):
        latent = samples["samples"]
        pixels = torch.sigmoid(latent[:, :3]).repeat_interleave(8, 2).repeat_interleave(8, 3)
        return (pixels.movedim(1, -1),)


class SaveImage:
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",), "filename_prefix": ("STRING", {"default": "ComfyUI"})}}

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"

    def save_images(self, images, filename_prefix="ComfyUI"):
        return {"ui": {"images": [tuple(images.shape)]}}


class PreviewImage(SaveImage):
    @classmethod
    def INPUT_TYPES(s):
        return {"required": {"images": ("IMAGE",)}}


NODE_CLASS_MAPPINGS = {
    "CheckpointLoaderSimple": CheckpointLoaderSimple, "CLIPTextEncode": CLIPTextEncode, "KSampler": KSampler,
    "KSamplerSelect": KSamplerSelect, "SamplerCustom": SamplerCustom, "EmptyLatentImage": EmptyLatentImage,
    "VAEDecode": VAEDecode, "SaveImage": SaveImage, "LatentUpscaleBy": LatentUpscaleBy, "PreviewImage": PreviewImage,
    "BasicScheduler": BasicScheduler,
}
NODE_DISPLAY_NAME_MAPPINGS = {}


def load_custom_node(module_path):
    """A folder with an __init__.py imported under its path's name; its mappings join the registry.

    An import error is reported and loading goes on without the pack (returns False), as ComfyUI does.
    """
    sys_module_name = module_path.replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(sys_module_name, os.path.join(module_path, "__init__.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[sys_module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        print(f"Cannot import {module_path} module for custom nodes: {error}")
        return False
    NODE_CLASS_MAPPINGS.update(getattr(module, "NODE_CLASS_MAPPINGS", {}))
    NODE_DISPLAY_NAME_MAPPINGS.update(getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", {}))
    return True
