"""Randomization: AND of the master switch and the per-key flag, seeded, recorded, reproducible."""

from __future__ import annotations

import random

import pytest
import torch

from simple_kes import ConfigError, KesConfig, KesScheduler, sigmas_for_config
from simple_kes.randomization import draw_parameters
from simple_kes.generation import resolve

SD_RANGE = (0.0292, 14.6146)


def randomizing(*names, **values):
    return KesConfig(randomize=True, **{f"{name}_rand": True for name in names}, **values)


@pytest.mark.parametrize("randomize, flag, drawn", [(True, True, True), (True, False, False),
                                                    (False, True, False), (False, False, False)])
def test_a_value_is_drawn_only_when_the_switch_and_its_flag_are_both_on(randomize, flag, drawn):
    config = KesConfig(randomize=randomize, sharpness_rand=flag)
    assert ("sharpness" in draw_parameters(config, seed=1).values) is drawn


def test_draws_stay_in_their_ranges_and_have_the_parameters_type():
    config = randomizing("sharpness", "update_interval", "sigma_max", sharpness_rand_min=0.9, sharpness_rand_max=0.91)
    for seed in range(200):
        values = draw_parameters(config, seed).values
        assert 0.9 <= values["sharpness"] <= 0.91
        assert isinstance(values["update_interval"], int) and 5 <= values["update_interval"] <= 10
        assert 10.0 <= values["sigma_max"] <= 60.0


def test_same_seed_same_values_and_different_seeds_differ():
    config = randomizing("start_blend", "end_blend", "sharpness")
    assert draw_parameters(config, 42) == draw_parameters(config, 42)
    assert draw_parameters(config, 42).values != draw_parameters(config, 43).values


def test_enabling_another_parameter_does_not_change_a_draw():
    """Each parameter has its own stream, so toggling one flag leaves the others' values alone."""
    alone = draw_parameters(randomizing("sharpness"), 7).values["sharpness"]
    together = draw_parameters(randomizing("sharpness", "start_blend", "end_blend"), 7).values["sharpness"]
    assert alone == together


def test_without_a_seed_a_fresh_one_is_chosen_and_recorded():
    """An unseeded call still records its seed, and that seed reproduces it."""
    config = randomizing("sharpness")
    first = draw_parameters(config)
    assert first.seed is not None
    assert draw_parameters(config, first.seed) == first


def test_python_global_random_is_never_used():
    random.seed(1234)
    state = random.getstate()
    sigmas_for_config(20, *SD_RANGE, randomizing("sharpness", "start_blend"), seed=5)
    draw_parameters(randomizing("sharpness"))
    assert random.getstate() == state


def test_recorded_values_reproduce_the_sigmas_when_given_back_as_overrides():
    """What the infotext records, pasted back as overrides, gives bit-identical sigmas."""
    config = randomizing("start_blend", "sharpness", "smooth_blend_factor", "update_interval")
    sigmas, record = sigmas_for_config(30, *SD_RANGE, config, seed=99)
    assert set(record.draw.values) == {"start_blend", "sharpness", "smooth_blend_factor", "update_interval"}
    pasted = KesConfig().with_values(record.draw.values)
    assert torch.equal(sigmas_for_config(30, *SD_RANGE, pasted)[0], sigmas)


def test_randomized_sigma_range_replaces_the_models():
    config = randomizing("sigma_min", sigma_min_rand_min=0.01, sigma_min_rand_max=0.02)
    _, record = sigmas_for_config(10, *SD_RANGE, config, seed=3)
    assert record.sigma_min == record.draw.values["sigma_min"] and 0.01 <= record.sigma_min <= 0.02


def test_a_draw_that_breaks_the_schedule_is_a_clear_error():
    config = randomizing("sharpness", sharpness_rand_min=3.0, sharpness_rand_max=4.0)
    with pytest.raises(ValueError, match=r"sharpness=3\.\d+ lifts"):
        sigmas_for_config(150, *SD_RANGE, config, seed=1)


def test_scheduler_uses_the_generation_seed_and_overrides_and_records_them():
    """The WebUI glue passes the image seed and pasted values per generation; the file stays as it is."""
    file_config = randomizing("start_blend")
    scheduler = KesScheduler(lambda: file_config)
    with scheduler.generation(seed=11, overrides={"sharpness": 0.8}):
        sigmas = scheduler(n=15, sigma_min=SD_RANGE[0], sigma_max=SD_RANGE[1], device="cpu")
    record = scheduler.last_record
    assert record.draw.seed == 11 and record.config.sharpness == 0.8
    expected, _ = sigmas_for_config(15, *SD_RANGE, file_config.with_values({"sharpness": 0.8}), seed=11)
    assert torch.equal(sigmas, expected)
    scheduler(n=15, sigma_min=SD_RANGE[0], sigma_max=SD_RANGE[1])
    assert scheduler.last_record.config.sharpness == file_config.sharpness, "overrides leaked past the generation"


def test_bad_overrides_are_refused_before_the_generation():
    scheduler = KesScheduler(KesConfig)
    with pytest.raises(ConfigError, match="sharpness: -2 is out of range"):
        scheduler.start_generation(overrides={"sharpness": -2})


def test_an_overridden_parameter_is_used_literally_even_where_the_file_randomizes_it():
    """An X/Y/Z value or a pasted value beats the draw; other randomized keys still draw."""
    effective, draw = resolve(randomizing("sharpness", "start_blend"), overrides={"sharpness": 0.9}, seed=4)
    assert effective.sharpness == 0.9 and set(draw.values) == {"start_blend"}
