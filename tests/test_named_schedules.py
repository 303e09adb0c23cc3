"""The schedules of the guides: each against its source's published values, and the k-diffusion contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_kes import get_sigmas_karras_exponential, named_schedules
from simple_kes.named_schedules import SD_TABLE, get_sigmas, linear_quadratic_flow_times, loglinear_resample
from simple_kes.schedule_catalogue import CATALOGUE, SCHEDULE_NAMES

from test_schedule import assert_valid_schedule

# SD 1.5's own range, exactly as its 1000-step table has it (a WebUI passes the model's float32 values).
SD_TABLE_RANGE = (0.0291671582, 14.6146412293)


def sigmas_on_sd(name: str, n: int) -> np.ndarray:
    return get_sigmas(name, n, *SD_TABLE_RANGE).numpy()


def test_every_catalogue_entry_has_its_function_and_a_source():
    assert tuple(named_schedules.SCHEDULES) == SCHEDULE_NAMES
    assert len(set(SCHEDULE_NAMES)) == len(SCHEDULE_NAMES)
    for entry in CATALOGUE:
        assert entry.label and entry.made_for and entry.source


def test_an_unknown_name_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown schedule 'karas'; allowed: karras, exponential, normal"):
        get_sigmas("karas", 10, *SD_TABLE_RANGE)


@pytest.mark.parametrize("arguments, message", [
    ((0, 0.03, 14.6), "n must be an integer >= 1, got 0"),
    ((10, 14.6, 0.03), "sigma_min must be below sigma_max"),
    ((10, -1.0, 14.6), "sigma_min must be a finite number > 0, got -1.0"),
])
def test_bad_arguments_are_clear_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        get_sigmas("gits", *arguments)


# --- the k-diffusion contract -----------------------------------------------------------------------------

sigma_ranges = st.tuples(st.floats(min_value=1e-3, max_value=1.0), st.floats(min_value=2.0, max_value=1000.0))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=400), sigma_range=sigma_ranges)
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_every_schedule_keeps_the_k_diffusion_contract(name, n, sigma_range):
    """n + 1 float32 values, strictly decreasing, positive until the final 0, for any step count and range."""
    assert_valid_schedule(get_sigmas(name, n, *sigma_range), n)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_honours_the_device_argument(name):
    assert get_sigmas(name, 5, *SD_TABLE_RANGE, device=torch.device("meta")).device.type == "meta"


@pytest.mark.parametrize("name, most", [("simple", 1000), ("ddim_uniform", 999)])
def test_index_picking_schedules_refuse_more_steps_than_timesteps(name, most):
    assert_valid_schedule(get_sigmas(name, most, *SD_TABLE_RANGE), most)
    with pytest.raises(ValueError, match=f"{name} picks distinct timesteps of the 1000: at most {most} steps"):
        get_sigmas(name, most + 1, *SD_TABLE_RANGE)


@pytest.mark.parametrize("name", [name for name in SCHEDULE_NAMES if name != "linear_quadratic"])
@pytest.mark.parametrize("sigma_range", [(0.002, 80.0), (0.1, 50.0)])
def test_other_ranges_start_at_their_sigma_max(name, sigma_range):
    """Every schedule is moved onto the range it is asked for (AYS 32's published top, 14.615, is
    0.00004% above SD's, so it keeps that margin)."""
    sigmas = get_sigmas(name, 12, *sigma_range).numpy()
    first = sigmas[0] if name != "ddim_uniform" else get_sigmas("ddim_uniform", 1, *sigma_range)[0].item()
    assert sigmas[0] <= sigma_range[1] * 1.0001
    assert first == pytest.approx(sigma_range[1], rel=1e-4) or name == "ddim_uniform"


# --- published values ---------------------------------------------------------------------------------------

# NVIDIA's Align Your Steps page: the noise levels as printed (3 decimals) and the timesteps.
AYS_PRINTED = {
    "align_your_steps_sd15": (14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029),
    "align_your_steps_sdxl": (14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029),
}
# ComfyUI's AlignYourStepsScheduler at 10 steps (sigmas of the published timesteps, 10 decimals).
AYS_COMFYUI = {
    "align_your_steps_sd15": (14.6146412293, 6.4745760956, 3.8636745985, 2.6946151520, 1.8841921177, 1.3943805092,
                              0.9642583904, 0.6523686016, 0.3977456272, 0.1515232662, 0.0291671582),
    "align_your_steps_sdxl": (14.6146412293, 6.3184485287, 3.7681790315, 2.1811480769, 1.3405244945, 0.8620721141,
                              0.5550693289, 0.3798540708, 0.2332364134, 0.1114188177, 0.0291671582),
}


@pytest.mark.parametrize("name", AYS_PRINTED)
def test_align_your_steps_lists_are_the_published_timesteps(name):
    """At 11 steps (A1111's rule: a list of k values is itself at k steps, then 0) the values are SD's
    sigmas at NVIDIA's timesteps, as ComfyUI has them, and NVIDIA's printed noise levels (3 decimals)
    lie within 0.6 of a timestep of them."""
    np.testing.assert_allclose(sigmas_on_sd(name, 11), [*AYS_COMFYUI[name], 0.0], rtol=1e-6)
    timesteps = named_schedules.AYS_SD15_TIMESTEPS if name.endswith("sd15") else named_schedules.AYS_SDXL_TIMESTEPS
    np.testing.assert_allclose(SD_TABLE.timestep(AYS_PRINTED[name]), timesteps, atol=0.6)


def test_align_your_steps_at_other_step_counts_is_the_log_linear_resampling():
    """A1111 1.10's Align Your Steps at 10 steps: the 11 values squeezed to 10 in log sigma, then 0."""
    expected = np.exp(np.interp(np.linspace(0, 1, 10), np.linspace(0, 1, 11), np.log(AYS_COMFYUI["align_your_steps_sd15"][::-1])))
    np.testing.assert_allclose(sigmas_on_sd("align_your_steps_sd15", 10), [*expected[::-1], 0.0], rtol=1e-6)


def test_align_your_steps_svd_is_the_published_list_on_svds_range():
    np.testing.assert_allclose(get_sigmas("align_your_steps_svd", 11, 0.002, 700.0).numpy(),
                               [*named_schedules.AYS_SVD_SIGMAS, 0.0], rtol=1e-6)


@pytest.mark.parametrize("name, published", [("align_your_steps_32_sd15", named_schedules.AYS_32_SD15_SIGMAS),
                                             ("align_your_steps_32_sdxl", named_schedules.AYS_32_SDXL_SIGMAS)])
def test_align_your_steps_32_is_its_list_and_that_list_is_the_10_step_one_resampled(name, published):
    """At 32 steps the 32 published values; and those are NVIDIA's printed 10-step list with its last value
    0.029 moved to 0.015, resampled to 32 (what docs/schedules.md says of their origin)."""
    np.testing.assert_allclose(sigmas_on_sd(name, 32), [*published, 0.0], rtol=1e-6)
    printed = AYS_PRINTED[name.replace("_32", "")]
    np.testing.assert_allclose(loglinear_resample([*printed[:-1], 0.015], 32), published, rtol=2e-7)


# ComfyUI's GITSScheduler (coefficient 1.20, denoise 1) at 10 steps: the table's list, its last value set to 0.
GITS_10_STEPS = (14.61464119, 5.85520077, 2.84484982, 1.67050016, 1.08895338, 0.74807048, 0.50118381,
                 0.32104823, 0.19894916, 0.09824532, 0.0)


def test_gits_is_the_authors_table_with_the_last_sigma_made_zero():
    np.testing.assert_allclose(sigmas_on_sd("gits", 10), GITS_10_STEPS, rtol=1e-6)
    for n, listed in enumerate(named_schedules.GITS_SD15_COEFF_1_20, start=2):
        np.testing.assert_allclose(sigmas_on_sd("gits", n), [*listed[:-1], 0.0], rtol=1e-6)


def test_gits_above_20_steps_resamples_the_20_step_list():
    expected = loglinear_resample(named_schedules.GITS_SD15_COEFF_1_20[-1], 31)
    np.testing.assert_allclose(sigmas_on_sd("gits", 30), [*expected[:-1], 0.0], rtol=1e-6)


def sd15_continuous_sigma(t: np.ndarray) -> np.ndarray:
    """SD 1.5's sigma at continuous time t (DPM-Solver's convention: log alpha linear between t_j = (j + 1) / 1000)."""
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000) ** 2
    log_alphas = 0.5 * np.log(np.cumprod(1 - betas))
    log_alpha = np.interp(t, np.arange(1, 1001) / 1000, log_alphas)
    return np.sqrt(1 - np.exp(2 * log_alpha)) / np.exp(log_alpha)


def test_every_gits_value_is_sd15_on_the_authors_101_point_time_grid():
    """The table was chosen from a 101-point teacher grid uniform in time from 1e-3 to 1: every value is
    one of its sigmas (to the table's 8 digits), which checks the table against its own construction."""
    grid = sd15_continuous_sigma(0.001 + np.arange(101) * 0.999 / 100)
    for listed in named_schedules.GITS_SD15_COEFF_1_20:
        nearest = np.abs(np.log(np.asarray(listed)[:, None] / grid[None, :])).min(axis=1)
        assert nearest.max() < 2e-5


# ComfyUI's (and A1111's, where it has them) schedules for SD 1.5 at 10 steps, 4 decimals.
COMFYUI_10_STEPS = {
    "normal": (14.6146, 7.8399, 4.6092, 2.9183, 1.9502, 1.3449, 0.9324, 0.6250, 0.3687, 0.0292),
    "sgm_uniform": (14.6146, 8.3072, 5.0924, 3.3251, 2.2797, 1.6156, 1.1629, 0.8319, 0.5712, 0.3437),
    "simple": (14.6146, 8.3028, 5.0878, 3.3211, 2.2765, 1.6129, 1.1606, 0.8299, 0.5693, 0.3417),
    "ddim_uniform": (8.3907, 5.1344, 3.3478, 2.2929, 1.6237, 1.1682, 0.8357, 0.5741, 0.3462, 0.0413),
    "beta": (14.6146, 11.5428, 7.3718, 4.3728, 2.6152, 1.6183, 1.0273, 0.6549, 0.3955, 0.1991),
    "kl_optimal": (14.6146, 4.2324, 2.3937, 1.5971, 1.1330, 0.8152, 0.5729, 0.3725, 0.1953, 0.0292),
}


@pytest.mark.parametrize("name", COMFYUI_10_STEPS)
def test_the_timestep_schedules_are_comfyuis_on_sd15(name):
    np.testing.assert_allclose(sigmas_on_sd(name, 10), [*COMFYUI_10_STEPS[name], 0.0], rtol=2e-4, atol=5e-5)


def test_beta_keeps_n_steps_where_comfyui_would_drop_repeated_timesteps():
    """ComfyUI rounds to whole timesteps and drops repeats (fewer steps at high counts); here there are n."""
    assert_valid_schedule(get_sigmas("beta", 600, *SD_TABLE_RANGE), 600)


def test_linear_quadratic_is_genmos_schedule_in_flow_time():
    """Genmo's check values (threshold 0.025, half the steps linear), and sigma / (1 + sigma) is that
    flow time scaled so the first is sigma_max's."""
    np.testing.assert_allclose(linear_quadratic_flow_times(10),
                               (1, 0.995, 0.99, 0.985, 0.98, 0.975, 0.932, 0.813, 0.618, 0.347, 0), atol=5e-4)
    np.testing.assert_allclose(linear_quadratic_flow_times(4), (1, 0.9875, 0.975, 0.725, 0), atol=1e-12)
    sigmas = sigmas_on_sd("linear_quadratic", 10).astype(np.float64)
    top = SD_TABLE_RANGE[1] / (1 + SD_TABLE_RANGE[1])
    np.testing.assert_allclose(sigmas / (1 + sigmas), linear_quadratic_flow_times(10) * top, rtol=1e-6)


# The beta-schedule-derived schedules over SD 1.5's range at 10 steps (float64, 4 decimals).
DERIVED_10_STEPS = {
    "ddpm_linear": (14.6146, 8.3322, 5.0318, 3.1935, 2.1032, 1.4104, 0.9351, 0.5807, 0.2914, 0.0292),
    "ddpm_quadratic": (14.6146, 6.9159, 3.7445, 2.2434, 1.4338, 0.9413, 0.6091, 0.3667, 0.1818, 0.0292),
    "iddpm_cosine": (14.6146, 4.2375, 2.3974, 1.5999, 1.1355, 0.8175, 0.5750, 0.3745, 0.1972, 0.0292),
}


@pytest.mark.parametrize("name", DERIVED_10_STEPS)
def test_the_beta_schedule_derived_schedules(name):
    np.testing.assert_allclose(sigmas_on_sd(name, 10), [*DERIVED_10_STEPS[name], 0.0], rtol=2e-4, atol=5e-5)


def test_derived_from_sds_own_beta_schedule_is_normal():
    """The derivation applied to SD's own betas gives SD's normal schedule: the rule is the one 'normal' follows."""
    derived = named_schedules._beta_schedule_derived(SD_TABLE)
    for n in (3, 10, 25):
        np.testing.assert_allclose(derived(n, *SD_TABLE_RANGE), named_schedules.named_sigmas("normal", n, *SD_TABLE_RANGE),
                                   rtol=1e-9)


def test_the_cosine_derived_schedule_is_close_to_kl_optimal():
    """The continuous cosine schedule spaced evenly in time is exactly KL Optimal; the discrete one (1000 steps, s = 0.008) stays within 2.5%."""
    for n in (5, 10, 30, 100):
        np.testing.assert_allclose(sigmas_on_sd("iddpm_cosine", n)[:-1], sigmas_on_sd("kl_optimal", n)[:-1], rtol=0.025)


# --- as the bases of the KES blend ------------------------------------------------------------------------------

PLAIN_BLEND = dict(sigma_max_factor=1.0, initial_step_size=1.0, final_step_size=1.0, step_size_factor=1.0,
                   initial_noise_scale=1.0, final_noise_scale=1.0, noise_scale_factor=1.0, sharpness=1.0)


@pytest.mark.parametrize("name", [name for name in SCHEDULE_NAMES if name != "karras"])
def test_a_blend_of_a_schedule_with_itself_is_that_schedule(name):
    sigmas = get_sigmas_karras_exponential(10, *SD_TABLE_RANGE, blend_from=name, blend_to=name, **PLAIN_BLEND)
    np.testing.assert_allclose(sigmas.numpy(), sigmas_on_sd(name, 10), rtol=1e-6)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=1, max_value=200), blend_from=st.sampled_from(SCHEDULE_NAMES),
       blend_to=st.sampled_from(SCHEDULE_NAMES), position=st.floats(min_value=-5, max_value=5))
def test_a_fixed_mix_of_any_two_schedules_is_a_valid_schedule(n, blend_from, blend_to, position):
    """start_blend = end_blend, the case the error message calls always safe."""
    sigmas = get_sigmas_karras_exponential(n, *SD_TABLE_RANGE, blend_from=blend_from, blend_to=blend_to,
                                           start_blend=position, end_blend=position, **PLAIN_BLEND)
    assert_valid_schedule(sigmas, n)


def test_a_rising_blend_names_its_two_schedules():
    with pytest.raises(ValueError, match="moves between linear_quadratic and kl_optimal faster than they fall"):
        get_sigmas_karras_exponential(10, *SD_TABLE_RANGE, blend_from="linear_quadratic", blend_to="kl_optimal",
                                      start_blend=1.0, end_blend=0.0, smooth_blend_factor=40.0, **PLAIN_BLEND)


def test_a_blend_key_outside_the_catalogue_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="blend_to: 'cosine' is not allowed; allowed: one of karras, exponential"):
        get_sigmas_karras_exponential(10, *SD_TABLE_RANGE, blend_to="cosine")


def test_the_default_blend_is_unchanged_by_naming_its_bases():
    default = get_sigmas_karras_exponential(20, 0.0292, 14.6146)
    named = get_sigmas_karras_exponential(20, 0.0292, 14.6146, blend_from="karras", blend_to="exponential")
    assert torch.equal(default, named)
    assert math.isclose(default[0].item(), 1.2375 * 14.6146, rel_tol=1e-6)
