"""The digit models are sampled as the WebUI samples SD 1.x: k-diffusion's CompVis wrapper over SD 1.x's
own alphas_cumprod, so every schedule meets the same sigma range and timestep clamping as in the WebUI."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from k_diffusion.external import CompVisDenoiser

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import simple_kes  # noqa: E402
from kes_bench.learned.denoiser import DigitDiffusion, GuidedDenoiser, webui_wrapper  # noqa: E402
from kes_bench.learned.network import NULL_CLASS, DigitUNet  # noqa: E402

pytestmark = pytest.mark.bench


class CompVisLikeSD1(torch.nn.Module):
    """What the WebUI hands k-diffusion for an SD 1.x checkpoint, reduced to the buffer the wrapper reads:
    the CompVis code's 'linear' schedule (a float64 linspace of the square roots of 0.00085 and 0.012,
    squared; numpy's cumprod of 1 - beta), stored as float32. Built here with numpy's linspace, not
    torch's as the CompVis code and the digit models do: the float32 buffers must agree regardless."""

    def __init__(self):
        super().__init__()
        betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
        self.register_buffer("alphas_cumprod", torch.tensor(np.cumprod(1.0 - betas), dtype=torch.float32))


@pytest.fixture(scope="module")
def digit_wrapper() -> CompVisDenoiser:
    torch.manual_seed(0)
    return webui_wrapper(DigitDiffusion(DigitUNet().eval()))


def test_sigmas_are_the_webui_sd1_wrappers_bit_for_bit(digit_wrapper):
    webui = CompVisDenoiser(CompVisLikeSD1())
    assert torch.equal(digit_wrapper.sigmas, webui.sigmas)
    assert torch.equal(digit_wrapper.log_sigmas, webui.log_sigmas)
    assert digit_wrapper.quantize is webui.quantize is False


def test_sigma_range_is_sd1s(digit_wrapper):
    # The range the extension's defaults name (0.0292 and 14.6146, SD 1.x's range rounded) is this model's.
    assert float(digit_wrapper.sigma_min) == pytest.approx(simple_kes.SD_SIGMA_MIN, rel=2e-3)
    assert float(digit_wrapper.sigma_max) == pytest.approx(simple_kes.SD_SIGMA_MAX, rel=1e-5)


def test_sigmas_outside_the_range_reach_the_model_as_its_end_timesteps(digit_wrapper):
    """A KES schedule that starts above sigma_max or ends below sigma_min meets the same clamp as in the WebUI."""
    sigma_min, sigma_max = float(digit_wrapper.sigma_min), float(digit_wrapper.sigma_max)
    t = digit_wrapper.sigma_to_t(torch.tensor([30.0, sigma_max, 1.0, sigma_min, 0.005]))
    assert t[0] == t[1] == 999
    assert t[3] == t[4] == 0
    assert 0 < t[2] < 999


class RecordingUNet(torch.nn.Module):
    """eps = label + 0 x input: shows which labels a batch half was run with."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, t, label):
        self.calls += 1
        return label.to(x.dtype)[:, None, None, None].expand_as(x).clone()


def test_guidance_combines_the_conditional_and_null_class_predictions_as_the_webui():
    unet = RecordingUNet()
    wrapper = webui_wrapper(DigitDiffusion(unet))
    labels = torch.tensor([3, 7])
    x, sigma = torch.zeros(2, 1, 16, 16), torch.full((2,), 2.0)
    conditional = wrapper(x, sigma, cond=labels)
    unconditional = wrapper(x, sigma, cond=torch.full_like(labels, NULL_CLASS))
    scale = 4.0
    guided = GuidedDenoiser(wrapper, labels, scale)
    expected = unconditional + (conditional - unconditional) * scale
    assert torch.allclose(guided(x, sigma), expected)
    calls = unet.calls
    assert torch.equal(GuidedDenoiser(wrapper, labels, 1.0)(x, sigma), conditional)
    assert unet.calls == calls + 1  # at scale 1 only the conditional half runs
    assert guided.calls == 1  # one sampler step, one counted model call, whatever the batching


def test_guided_denoiser_keeps_the_samplers_dtype():
    wrapper = webui_wrapper(DigitDiffusion(RecordingUNet()))
    out = GuidedDenoiser(wrapper, torch.tensor([1]), 2.0)(torch.zeros(1, 1, 16, 16, dtype=torch.float64),
                                                          torch.ones(1, dtype=torch.float64))
    assert out.dtype == torch.float64
