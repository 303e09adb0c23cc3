"""Stands for ComfyUI's own copy of k-diffusion's sampling module (same functions, same signatures)."""

from k_diffusion.sampling import (get_sigmas_exponential, get_sigmas_karras, sample_dpm_fast,  # noqa: F401
                                  sample_dpmpp_2m, sample_euler, sample_euler_ancestral, sample_heun)
