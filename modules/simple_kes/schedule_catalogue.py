"""The schedules of the guides, by name: what each is, where it was published and which model it was made for.

The names are those ComfyUI and the WebUIs use where one exists. Standard library only: the
declaration (``parameters.py``) offers these names as the KES blend bases, and the command line reads
it without importing torch. The functions are in ``named_schedules.py``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    name: str
    label: str
    made_for: str  # the model (or noise schedule) the published values or formula were made for
    source: str  # the paper, table or implementation the values come from


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry("karras", "Karras", "any model (EDM)",
                   "Karras et al. 2022, 'Elucidating the Design Space of Diffusion-Based Generative Models', eq. 5, "
                   "rho 7 (as a KES base, KES's own rho)"),
    CatalogueEntry("exponential", "Exponential", "any model",
                   "k-diffusion get_sigmas_exponential: evenly spaced in log sigma"),
    CatalogueEntry("normal", "Normal", "SD 1.x/2.x/SDXL (1000 discrete timesteps)",
                   "evenly spaced timesteps from sigma_max's to sigma_min's, both included (ComfyUI, A1111)"),
    CatalogueEntry("sgm_uniform", "SGM Uniform", "SD 1.x/2.x/SDXL (1000 discrete timesteps)",
                   "Stability AI's generative-models: normal with n + 1 timesteps, the last dropped"),
    CatalogueEntry("simple", "Simple", "SD 1.x/2.x/SDXL (1000 discrete timesteps)",
                   "ComfyUI's simple scheduler: every 1000 / n-th timestep from the top"),
    CatalogueEntry("ddim_uniform", "DDIM Uniform", "SD 1.x/2.x/SDXL (1000 discrete timesteps)",
                   "Song et al. 2021, 'Denoising Diffusion Implicit Models': timesteps 1, 1 + 1000 // n, ... "
                   "(A1111's 'DDIM' schedule type)"),
    CatalogueEntry("beta", "Beta", "SD 1.x/2.x/SDXL (1000 discrete timesteps)",
                   "Lee et al. 2024, 'Beta Sampling is All You Need' (arXiv 2407.12173): timesteps at the "
                   "Beta(0.6, 0.6) quantiles (ComfyUI's form; A1111's Beta is linear in sigma instead)"),
    CatalogueEntry("kl_optimal", "KL Optimal", "any model",
                   "Sabour et al. 2024, 'Align Your Steps' (arXiv 2404.14507), the KL-optimal schedule: "
                   "evenly spaced in arctan(sigma)"),
    CatalogueEntry("align_your_steps_sd15", "Align Your Steps (SD 1.5)", "SD 1.5",
                   "Sabour et al. 2024 (arXiv 2404.14507); NVIDIA's published 10-step timesteps "
                   "999, 850, 736, 645, 545, 455, 343, 233, 124, 24, 0"),
    CatalogueEntry("align_your_steps_sdxl", "Align Your Steps (SDXL)", "SDXL",
                   "Sabour et al. 2024 (arXiv 2404.14507); NVIDIA's published 10-step timesteps "
                   "999, 845, 730, 587, 443, 310, 193, 116, 53, 13, 0"),
    CatalogueEntry("align_your_steps_svd", "Align Your Steps (SVD)", "Stable Video Diffusion (sigma 0.002 to 700)",
                   "Sabour et al. 2024 (arXiv 2404.14507); NVIDIA's published 10-step noise levels"),
    CatalogueEntry("align_your_steps_32_sd15", "Align Your Steps 32 (SD 1.5)", "SD 1.5",
                   "the 32-step list of A1111 PR #15751 (shipped by Forge and reForge): the SD 1.5 AYS list "
                   "interpolated to 32 values, ending at 0.015"),
    CatalogueEntry("align_your_steps_32_sdxl", "Align Your Steps 32 (SDXL)", "SDXL",
                   "the 32-step list of A1111 PR #15751 (shipped by Forge and reForge): the SDXL AYS list "
                   "interpolated to 32 values, ending at 0.015"),
    CatalogueEntry("gits", "GITS", "SD 1.5",
                   "Chen et al. 2024, 'On the Trajectory Regularity of ODE-based Diffusion Sampling' (arXiv "
                   "2405.11326): the authors' SD 1.5 table at coefficient 1.20, steps 2 to 20 (ComfyUI's GITS node)"),
    CatalogueEntry("linear_quadratic", "Linear-Quadratic", "Genmo Mochi 1 (rectified flow)",
                   "Genmo's Mochi 1 sampler (ComfyUI's linear_quadratic): linear to 0.025 for half the steps, then "
                   "quadratic, in flow time; here converted to the sigma of the equivalent diffusion"),
    CatalogueEntry("ddpm_linear", "DDPM Linear", "the DDPM linear beta schedule (1e-4 to 0.02)",
                   "Ho et al. 2020, 'Denoising Diffusion Probabilistic Models': evenly spaced timesteps of that "
                   "schedule between the model's sigma_max and sigma_min"),
    CatalogueEntry("ddpm_quadratic", "DDPM Quadratic", "the DDPM quadratic beta schedule (sqrt(beta) linear)",
                   "Ho et al. 2020 (their code's 'quad' schedule): evenly spaced timesteps of that schedule between "
                   "the model's sigma_max and sigma_min"),
    CatalogueEntry("iddpm_cosine", "iDDPM Cosine", "the cosine noise schedule (s = 0.008)",
                   "Nichol and Dhariwal 2021, 'Improved Denoising Diffusion Probabilistic Models', eq. 17: evenly "
                   "spaced timesteps of that schedule between the model's sigma_max and sigma_min"),
)
BY_NAME: dict[str, CatalogueEntry] = {entry.name: entry for entry in CATALOGUE}
SCHEDULE_NAMES: tuple[str, ...] = tuple(BY_NAME)
