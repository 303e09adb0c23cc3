"""The schedule function: the write-up's formulas, the k-diffusion contract, and argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import simple_kes
from simple_kes import get_sigmas_karras_exponential
from simple_kes.schedule import SHAPE_DEFAULTS
from simple_kes.schedule_catalogue import SCHEDULE_NAMES

SD_RANGE = (0.0292, 14.6146)


def reference_sigmas(n, sigma_min, sigma_max, *, sigma_max_factor=1.1, rho=7.0, start_blend=0.1, end_blend=0.5,
                     smooth_blend_factor=11.0, update_interval=1, initial_step_size=0.9, final_step_size=0.2,
                     step_size_factor=0.8, initial_noise_scale=1.25, final_noise_scale=0.8, noise_scale_factor=0.9,
                     sharpness=0.95):
    """The write-up's formulas recomputed independently in float64 numpy (issue 2, "The schedule")."""
    top = sigma_max * sigma_max_factor
    ramp = np.linspace(0.0, 1.0, n)
    karras = np.append((top ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - top ** (1 / rho))) ** rho, 0.0)
    exponential = np.append(np.exp(np.linspace(math.log(top), math.log(sigma_min), n)), 0.0)
    progress = np.linspace(0.0, 1.0, n + 1)
    held = np.floor(np.arange(n + 1) / update_interval) * update_interval / n
    step_size = initial_step_size * (1 - progress) + final_step_size * step_size_factor * progress
    noise_scale = initial_noise_scale * (1 - progress) + final_noise_scale * noise_scale_factor * progress
    blend = start_blend * (1 - held) + end_blend * held
    weight = 1 / (1 + np.exp(-(blend - 0.5) * smooth_blend_factor))
    sigmas = (karras * (1 - weight) + exponential * weight) * step_size * noise_scale
    return np.where(sigmas < 1.5 * sigma_min, sigmas * sharpness, sigmas)


def assert_valid_schedule(sigmas: torch.Tensor, n: int) -> None:
    assert sigmas.dtype == torch.float32
    assert sigmas.shape == (n + 1,)
    assert torch.isfinite(sigmas).all()
    assert sigmas[-1].item() == 0.0
    assert (sigmas[:-1] > 0).all()
    assert (sigmas[1:] < sigmas[:-1]).all(), "not strictly decreasing"


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 30, 50, 150, 1000])
@pytest.mark.parametrize("sigma_range", [SD_RANGE, (0.002, 80.0), (0.01, 0.1)])
def test_defaults_reproduce_the_write_up_formulas(n, sigma_range):
    """With the defaults the output is the write-up's formulas (with the release's factors) to float32 rounding."""
    sigmas = get_sigmas_karras_exponential(n, *sigma_range)
    expected = reference_sigmas(n, *sigma_range)
    np.testing.assert_allclose(sigmas.numpy(), expected, rtol=1e-5, atol=0)


def test_default_endpoints_match_the_research_notes():
    """sigma_0 is 1.2375 x sigma_max (1.1 x 0.9 x 1.25) and the tail ends well below the model's sigma_min."""
    sigmas = get_sigmas_karras_exponential(20, *SD_RANGE)
    assert sigmas[0].item() == pytest.approx(1.2375 * SD_RANGE[1], rel=1e-6)
    assert sigmas[-2].item() < SD_RANGE[0] / 5


@pytest.mark.parametrize("shape", [
    {"start_blend": 0.3, "end_blend": 0.9, "smooth_blend_factor": 6.0},
    {"update_interval": 4},
    {"sharpness": 0.5, "sigma_max_factor": 1.0},
    {"rho": 3.0},
    {"rho": 15.0, "end_blend": 0.9},
    {"initial_step_size": 1.0, "final_step_size": 1.0, "step_size_factor": 1.0,
     "initial_noise_scale": 1.0, "final_noise_scale": 1.0, "noise_scale_factor": 1.0},
])
def test_every_shape_value_takes_effect_as_the_formulas_say(shape):
    """Non-default values change the output exactly as the float64 formulas predict."""
    sigmas = get_sigmas_karras_exponential(30, *SD_RANGE, **shape)
    np.testing.assert_allclose(sigmas.numpy(), reference_sigmas(30, *SD_RANGE, **shape), rtol=1e-5)
    assert not torch.equal(sigmas, get_sigmas_karras_exponential(30, *SD_RANGE))


def test_update_interval_holds_the_blend_for_that_many_steps():
    """With update_interval 5 the blend weight changes only every fifth step."""
    parts = simple_kes.schedule.schedule_parts(20, *SD_RANGE, **{**SHAPE_DEFAULTS, "update_interval": 5})
    weights = parts["blend_weight"].tolist()
    changes = [i for i in range(1, 21) if weights[i] != weights[i - 1]]
    assert changes == [5, 10, 15, 20]


def test_blend_only_with_unit_scales_stays_between_karras_and_exponential():
    """With step size and noise scale at 1 and no sharpening, each sigma lies between the two schedules."""
    unit = {"initial_step_size": 1.0, "final_step_size": 1.0, "step_size_factor": 1.0, "initial_noise_scale": 1.0,
            "final_noise_scale": 1.0, "noise_scale_factor": 1.0, "sharpness": 1.0, "sigma_max_factor": 1.0}
    sigmas = get_sigmas_karras_exponential(25, *SD_RANGE, **unit).double()
    from k_diffusion.sampling import get_sigmas_exponential, get_sigmas_karras
    karras = get_sigmas_karras(25, *SD_RANGE).double()
    exponential = get_sigmas_exponential(25, *SD_RANGE).double()
    low, high = torch.minimum(karras, exponential), torch.maximum(karras, exponential)
    assert ((sigmas >= low * (1 - 1e-6)) & (sigmas <= high * (1 + 1e-6))).all()


@pytest.mark.parametrize("rho", [1.0, 3.0, 12.0])
def test_rho_is_the_rho_of_k_diffusions_karras_curve(rho):
    """With the Exponential weight ~0, unit scales and no sharpening, KES is get_sigmas_karras(rho=rho)."""
    karras_only = {"start_blend": -10.0, "end_blend": -10.0, "initial_step_size": 1.0, "final_step_size": 1.0,
                   "step_size_factor": 1.0, "initial_noise_scale": 1.0, "final_noise_scale": 1.0,
                   "noise_scale_factor": 1.0, "sharpness": 1.0, "sigma_max_factor": 1.0, "rho": rho}
    from k_diffusion.sampling import get_sigmas_karras
    np.testing.assert_allclose(get_sigmas_karras_exponential(25, *SD_RANGE, **karras_only).numpy(),
                               get_sigmas_karras(25, *SD_RANGE, rho=rho).numpy(), rtol=1e-5)


def test_a_rho_too_small_for_the_range_is_a_clear_error():
    """sigma_max ** (1 / rho) overflows a float for a tiny rho: a ValueError naming rho, not an OverflowError."""
    with pytest.raises(ValueError, match=r"overflows for 10 steps: rho=0.001 is too small .* raise rho"):
        get_sigmas_karras_exponential(10, 0.0292, 1000.0, rho=0.001)


def test_honours_the_device_argument():
    """The result lands on the device the caller names (the WebUI passes cpu or the GPU)."""
    assert get_sigmas_karras_exponential(5, *SD_RANGE, device=torch.device("cpu")).device.type == "cpu"
    assert get_sigmas_karras_exponential(5, *SD_RANGE, device="meta").device.type == "meta"


def test_webui_entry_point_accepts_the_webui_keywords_and_ignores_others():
    """The WebUI calls function(n=, sigma_min=, sigma_max=, device=) and may add rho or inner_model."""
    sigmas = simple_kes.generation.sigmas_for_config(12, *SD_RANGE, simple_kes.KesConfig())[0]
    entry = simple_kes.KesScheduler(simple_kes.KesConfig)
    same = entry(n=12, sigma_min=SD_RANGE[0], sigma_max=SD_RANGE[1], device="cpu", rho=7.0, inner_model=object())
    assert torch.equal(same, sigmas)


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10", None])
def test_rejects_a_bad_step_count(n):
    """n must be an integer >= 1, and the error says so."""
    with pytest.raises(ValueError, match=r"n must be an integer >= 1"):
        get_sigmas_karras_exponential(n, *SD_RANGE)


@pytest.mark.parametrize("sigma_min, sigma_max, match", [
    (0.0, 14.6, r"sigma_min must be a finite number > 0"),
    (-0.1, 14.6, r"sigma_min must be a finite number > 0"),
    (float("nan"), 14.6, r"sigma_min must be a finite number > 0"),
    (0.03, float("inf"), r"sigma_max must be a finite number > 0"),
    (0.03, float("nan"), r"sigma_max must be a finite number > 0"),
    (14.6, 14.6, r"sigma_min must be below sigma_max"),
    (20.0, 14.6, r"sigma_min must be below sigma_max"),
])
def test_rejects_a_bad_sigma_range(sigma_min, sigma_max, match):
    """An empty, non-positive or non-finite range is an error naming the argument."""
    with pytest.raises(ValueError, match=match):
        get_sigmas_karras_exponential(10, sigma_min, sigma_max)


@pytest.mark.parametrize("name, value, match", [
    ("sharpness", 0.0, r"sharpness: 0 is out of range; allowed: a number > 0"),
    ("initial_step_size", float("nan"), r"initial_step_size: nan is not a finite number"),
    ("final_noise_scale", -0.5, r"final_noise_scale: -0.5 is out of range; allowed: a number >= 0"),
    ("update_interval", 0, r"update_interval: 0 is out of range; allowed: an integer >= 1"),
    ("start_blend", float("inf"), r"start_blend: inf is not a finite number"),
    ("rho", 0.0, r"rho: 0 is out of range; allowed: a number > 0"),
    ("karras_rho", 7.0, r"unknown schedule argument\(s\) karras_rho"),
])
def test_rejects_a_bad_shape_argument(name, value, match):
    """Each shape argument is checked against its hard limit, and the message names it."""
    with pytest.raises(ValueError, match=match):
        get_sigmas_karras_exponential(10, *SD_RANGE, **{name: value})


def test_sigma_max_factor_that_empties_the_range_is_rejected():
    """sigma_max x sigma_max_factor must stay above sigma_min."""
    with pytest.raises(ValueError, match=r"sigma_max x sigma_max_factor .* allowed: sigma_max_factor > 0.0019"):
        get_sigmas_karras_exponential(10, *SD_RANGE, sigma_max_factor=0.001)


@pytest.mark.parametrize("shape, n, culprit", [
    ({"sharpness": 1.5}, 60, r"sharpness=1.5 lifts .* allowed here: sharpness < "),
    ({"start_blend": 1.0, "end_blend": 0.0, "smooth_blend_factor": 50.0}, 200, r"start_blend <= end_blend"),
    ({"initial_step_size": 0.1, "final_step_size": 2.0}, 100, r"final_step_size x step_size_factor <= initial"),
])
def test_a_config_that_would_make_sigmas_rise_is_rejected_with_the_culprit(shape, n, culprit):
    """Non-monotone output is never returned: the error names the parameter and a safe range."""
    with pytest.raises(ValueError, match=r"would not be strictly decreasing for %d steps" % n) as error:
        get_sigmas_karras_exponential(n, *SD_RANGE, **shape)
    assert error.match(culprit)


# Hard-limit-valid values, capped in magnitude only so that float32 cannot overflow.
finite = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False)
positive = st.floats(min_value=1e-3, max_value=100.0)
non_negative = st.floats(min_value=0.0, max_value=100.0)
shapes = st.fixed_dictionaries({
    "sigma_max_factor": st.floats(min_value=0.5, max_value=10.0),
    "rho": st.floats(min_value=1e-3, max_value=1000.0),
    "start_blend": finite, "end_blend": finite, "smooth_blend_factor": finite,
    "update_interval": st.integers(min_value=1, max_value=60),
    "initial_step_size": positive, "final_step_size": non_negative, "step_size_factor": non_negative,
    "initial_noise_scale": positive, "final_noise_scale": non_negative, "noise_scale_factor": non_negative,
    "sharpness": st.floats(min_value=1e-3, max_value=10.0),
    "blend_from": st.sampled_from(SCHEDULE_NAMES), "blend_to": st.sampled_from(SCHEDULE_NAMES),
})
sigma_ranges = st.tuples(st.floats(min_value=1e-3, max_value=1.0), st.floats(min_value=2.0, max_value=1000.0))
steps = st.integers(min_value=1, max_value=400)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=steps, sigma_range=sigma_ranges, shape=shapes)
def test_any_valid_config_gives_a_valid_schedule_or_a_clear_error(n, sigma_range, shape):
    """Over the whole hard-limit space the function never returns an invalid schedule."""
    try:
        sigmas = get_sigmas_karras_exponential(n, *sigma_range, **shape)
    except ValueError as error:
        documented = ("would not be strictly decreasing", "overflows", "must be above sigma_min",
                      "picks distinct timesteps of the 1000: at most")
        assert any(reason in str(error) for reason in documented), error
        return
    assert_valid_schedule(sigmas, n)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(n=steps, sigma_range=sigma_ranges, shape=shapes, rho=st.floats(min_value=2.0, max_value=1000.0))
def test_the_documented_safe_region_never_fails(n, sigma_range, shape, rho):
    """A non-empty range, rho >= 2, start <= end blend, sharpness <= 1 and a non-rising ramp always give a valid
    schedule between Karras and Exponential."""
    shape = {**shape, "rho": rho, "blend_from": "karras", "blend_to": "exponential"}
    assume(sigma_range[1] * shape["sigma_max_factor"] > sigma_range[0])
    assume(shape["start_blend"] <= shape["end_blend"] and shape["smooth_blend_factor"] >= 0)
    assume(shape["sharpness"] <= 1)
    assume(shape["final_step_size"] * shape["step_size_factor"] <= shape["initial_step_size"])
    assume(shape["final_noise_scale"] * shape["noise_scale_factor"] <= shape["initial_noise_scale"])
    assert_valid_schedule(get_sigmas_karras_exponential(n, *sigma_range, **shape), n)


@settings(max_examples=100, deadline=None)
@given(n=steps, sigma_range=sigma_ranges)
def test_defaults_are_valid_for_any_model_range(n, sigma_range):
    """The default config gives a valid schedule for every step count and range."""
    assert_valid_schedule(get_sigmas_karras_exponential(n, *sigma_range), n)
