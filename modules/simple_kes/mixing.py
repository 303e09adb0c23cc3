"""Iterative mixing (DemoFusion's skip residual) as pure functions over tensors, for both frontends.

``../shared/seeds/iterative-mixing-nodes.md`` describes it; DemoFusion (Du et al. 2023, arXiv 2311.16973,
section 3.3) introduced it. An upscaled latent is *unsampled* into progressively noisier copies, one per
step of the schedule in use, and at each step the sampler's own latent ``z`` becomes
``c1 * z' + (1 - c1) * z``, where ``z'`` is the copy at the same noise level and ``c1`` follows a blending
schedule from 1 (all ``z'``) at the noisiest step to 0 at the last.

In k-diffusion's terms (a latent at noise level sigma is ``x0 + sigma * noise``). Where the seed's README
is silent or its code differs (``../shared/seed-systems-notes.md``, section 1), docs/decisions.md says
what this implementation does and why. Imports only torch.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch

BLENDING_SCHEDULES = ("cosine", "linear", "logistic")
# Model calls per step of the k-diffusion samplers the mixing supports: it mixes at the first call of
# each step. The second-order samplers make one call on their last step (to sigma 0), after which no
# mixing is left to do. DPM fast, DPM adaptive and Restart choose their own sigmas and are refused.
CALLS_PER_STEP = {
    "euler": 1, "euler_ancestral": 1, "lms": 1, "dpmpp_2m": 1, "dpmpp_2m_sde": 1, "dpmpp_3m_sde": 1, "lcm": 1,
    "heun": 2, "dpm_2": 2, "dpm_2_ancestral": 2, "dpmpp_2s_ancestral": 2, "dpmpp_sde": 2,
}


def unsample(latent: torch.Tensor, sigmas: torch.Tensor, noise: torch.Tensor, *, start_at_step: int = 0,
             end_at_step: int | None = None, normalize_fraction: float = 0.0) -> torch.Tensor:
    """The progressively noisier copies of ``latent`` along ``sigmas``, least noisy first (the seed's order).

    One copy per sigma of ``sigmas[start_at_step : end_at_step + 1]`` (all ``n + 1`` by default, the last
    one at sigma 0 being the latent itself), each ``latent + sigma * noise`` with the one ``noise`` tensor
    (DemoFusion's forward process: every copy lies on the same noise direction). ``normalize_fraction``:
    the per-channel mean of the noisiest ``normalize_fraction`` share of the copies is taken from every
    copy, removing a bias that the noisiest latent, where sampling starts, would otherwise carry.
    ``latent`` is ``(batch, channels, ...)``; returns ``(copies, *latent.shape)``.
    """
    steps = len(sigmas) - 1
    end = steps if end_at_step is None else end_at_step
    if not 0 <= start_at_step <= end <= steps:
        raise ValueError(f"start_at_step {start_at_step} and end_at_step {end} must satisfy 0 <= start_at_step "
                         f"<= end_at_step <= steps ({steps})")
    if not 0.0 <= normalize_fraction <= 1.0:
        raise ValueError(f"normalize_fraction {normalize_fraction:g} is out of range; allowed: 0 to 1")
    chosen = sigmas[start_at_step:end + 1].flip(0).to(latent.dtype)
    copies = latent.unsqueeze(0) + chosen.reshape(-1, *([1] * latent.ndim)) * noise.unsqueeze(0)
    count = math.ceil(normalize_fraction * len(copies))
    if count:
        # copies: (copy, batch, channel, ...): one mean per channel, over the copies, batch and positions.
        bias = copies[-count:].mean(dim=[d for d in range(copies.ndim) if d != 2], keepdim=True)
        copies = copies - bias
    return copies


def blending_weights(steps: int, schedule: str = "cosine", alpha_1: float = 1.0,
                     stop_blending_at_pct: float = 1.0) -> list[float]:
    """``c1`` for each of ``steps`` steps: the share of the unsampled latent mixed in before that step.

    ``t`` counts the steps from the noisiest (t = 0); the blending runs over ``T = stop_blending_at_pct *
    (steps - 1)`` steps and ``u = t / T`` is its progress:
    - cosine: ``((1 + cos(pi u)) / 2) ** alpha_1`` (the seed's form of DemoFusion's equation 4, without the
      paper's 2 pi), 1 at the start and 0 at the end;
    - linear: ``1 - u`` (alpha_1 is not used);
    - logistic: ``1 / (1 + exp(5 alpha_1 (t - T/2) / (steps - 1)))``, the seed's logistic curve, centred
      on the blending range.
    After the range (u > 1) nothing is mixed; a ``stop_blending_at_pct`` above 1 stretches the schedule past
    the last step, so some of the unsampled latent is mixed into every step.
    """
    if schedule not in BLENDING_SCHEDULES:
        raise ValueError(f"blending_schedule {schedule!r} is not one of {', '.join(BLENDING_SCHEDULES)}")
    if steps < 1:
        raise ValueError(f"steps {steps} is out of range; allowed: 1 or more")
    if not (math.isfinite(alpha_1) and alpha_1 > 0):
        raise ValueError(f"alpha_1 {alpha_1:g} is out of range; allowed: a number > 0")
    if not (math.isfinite(stop_blending_at_pct) and stop_blending_at_pct >= 0):
        raise ValueError(f"stop_blending_at_pct {stop_blending_at_pct:g} is out of range; allowed: 0 or more")
    span = stop_blending_at_pct * (steps - 1)
    weights = []
    for t in range(steps):
        if t > span or (span == 0 and t > 0):
            weights.append(0.0)
            continue
        progress = t / span if span else 0.0
        if schedule == "cosine":
            weights.append(((1 + math.cos(math.pi * progress)) / 2) ** alpha_1)
        elif schedule == "linear":
            weights.append(1.0 - progress)
        else:
            weights.append(1.0 / (1.0 + math.exp(5 * alpha_1 * (t - span / 2) / max(steps - 1, 1))))
    return weights


class MixingDenoiser:
    """A k-diffusion denoiser that mixes the unsampled latents into the sampler's own latent.

    At the first model call of step ``i`` the latent the sampler passes, which is the sampler's state
    (its variable, not a copy), becomes ``c1[i] * unsampled[i] + (1 - c1[i]) * x`` in place, so the step,
    and a multistep sampler's history, continue from the mixed latent. ``unsampled[i]`` is at
    ``sigmas[i]`` (noisiest first); ``calls_per_step`` is the sampler's model calls per step
    (``CALLS_PER_STEP``), so a second-order sampler is mixed once per step, not at its extra call.
    """

    def __init__(self, model: Callable[..., torch.Tensor], unsampled: Sequence[torch.Tensor] | torch.Tensor,
                 weights: Sequence[float], sigmas: torch.Tensor, calls_per_step: int = 1):
        if len(unsampled) < len(weights) or len(sigmas) - 1 < len(weights):
            raise ValueError(f"{len(weights)} mixing steps need as many unsampled latents ({len(unsampled)}) "
                             f"and sigmas ({len(sigmas) - 1} steps)")
        self.model, self.unsampled, self.weights = model, unsampled, list(weights)
        self.sigmas, self.calls_per_step = sigmas, calls_per_step
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args: Any) -> torch.Tensor:
        if self.calls % self.calls_per_step == 0:
            step = self.calls // self.calls_per_step
            if step < len(self.weights):
                self._check_sigma(step, sigma)
                weight = self.weights[step]
                if weight:
                    x.mul_(1 - weight).add_(self.unsampled[step].to(x), alpha=weight)
        self.calls += 1
        return self.model(x, sigma, **extra_args)

    _OWN = frozenset({"model", "unsampled", "weights", "sigmas", "calls_per_step", "calls"})

    def __getattr__(self, name: str) -> Any:
        # Anything else is the wrapped model's, read and written: ComfyUI's samplers read model.inner_model
        # through the denoiser they are given, and a WebUI CFG++ sampler asks the CFG denoiser it is given
        # to keep the unconditional prediction (need_last_noise_uncond).
        if name in self._OWN:
            raise AttributeError(name)
        return getattr(self.model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._OWN:
            object.__setattr__(self, name, value)
        else:
            setattr(self.model, name, value)

    def _check_sigma(self, step: int, sigma: torch.Tensor) -> None:
        expected = float(self.sigmas[step])
        called = float(torch.as_tensor(sigma).flatten()[0])
        if not math.isclose(called, expected, rel_tol=1e-4, abs_tol=1e-6):
            raise ValueError(f"iterative mixing expected the sampler's step {step} at sigma {expected:g}, but it "
                             f"called the model at sigma {called:g}: this sampler does not call the model "
                             f"{self.calls_per_step} time(s) per step along the schedule")


def calls_per_step(sampler_name: str) -> int:
    """Model calls per step of a k-diffusion sampler; ValueError naming the supported ones."""
    if sampler_name not in CALLS_PER_STEP:
        raise ValueError(f"sampler {sampler_name!r} does not work with iterative mixing; supported: "
                         f"{', '.join(CALLS_PER_STEP)}")
    return CALLS_PER_STEP[sampler_name]
