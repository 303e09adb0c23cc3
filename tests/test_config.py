"""Config parsing and validation: every bad input gets a clear error naming file, key and range."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

import simple_kes
from simple_kes import BY_NAME, PARAMETERS, ConfigError, KesConfig, validate
from simple_kes.app.config_file import read_config, render_template
from simple_kes.app.reference import parameter_table
from simple_kes.app.config_file import parse_config_text
from simple_kes.app.config_file import template_text
from simple_kes.parameters import (CONTROL_PARAMETERS, INFOTEXT_PARAMETERS, KINDS, MODEL_RANGE_PARAMETERS,
                                   PRESET_PARAMETERS, RANDOM_KEYS, RANDOMIZABLE, SHAPE_PARAMETERS, Parameter,
                                   RandomPart, Role, random_key)
from simple_kes.schedule import SHAPE_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "configs/simple_kes.yaml"


def parse(text: str):
    return parse_config_text(text, SOURCE)


def rejected(text: str) -> str:
    with pytest.raises(ConfigError) as error:
        parse(text)
    return str(error.value)


def test_shipped_template_is_the_rendering_of_the_declaration():
    """configs/simple_kes.defaults.yaml is generated from PARAMETERS (python -m simple_kes template)."""
    assert template_text() == render_template()


def test_template_has_every_key_with_a_comment_and_loads_to_the_defaults():
    """Every declared key appears once in the template, with its default and a one-line comment."""
    text = template_text()
    for parameter in PARAMETERS:
        lines = [line for line in text.splitlines() if line.startswith(f"{parameter.name}:")]
        assert len(lines) == 1, parameter.name
        assert "  # allowed: " in lines[0]
    assert parse(text) == KesConfig()


def test_missing_keys_take_defaults_and_present_keys_take_effect():
    """A partial file is fine: what it sets is in force, the rest is default."""
    config = parse("sharpness: 0.9\nupdate_interval: 3\nsigma_min: 0.05\n")
    assert (config.sharpness, config.update_interval, config.sigma_min) == (0.9, 3, 0.05)
    assert config.differences() == {"sharpness": 0.9, "update_interval": 3, "sigma_min": 0.05}


def test_integers_are_accepted_for_numbers_and_whole_floats_for_integers():
    """YAML `1` is a fine float and `4.0` a fine integer; both come out with the declared type."""
    config = parse("sharpness: 1\nupdate_interval: 4.0\n")
    assert isinstance(config.sharpness, float) and config.sharpness == 1.0
    assert isinstance(config.update_interval, int) and config.update_interval == 4


@pytest.mark.parametrize("text, expected", [
    ("sharpness: -1\n", r"configs/simple_kes.yaml, line 1: sharpness: -1 is out of range; allowed: a number > 0"),
    ("start_blend: 0.1\nsharpness: 0\n", r"line 2: sharpness: 0 is out of range; allowed: a number > 0"),
    ("update_interval: 0\n", r"update_interval: 0 is out of range; allowed: an integer >= 1"),
    ("update_interval: 2.5\n", r"update_interval: 2.5 is not a whole number; allowed: an integer >= 1"),
    ("sharpness: high\n", r"sharpness: 'high' is not a number; allowed: a number > 0"),
    ("sharpness: '0.9'\n", r"sharpness: '0.9' is not a number"),
    ("sharpness: true\n", r"sharpness: True is not a number"),
    ("sharpness: [0.9]\n", r"sharpness: \[0.9\] is not a number"),
    ("sharpness:\n", r"sharpness: is empty; allowed: a number > 0"),
    ("start_blend: .nan\n", r"start_blend: nan is not a finite number; allowed: any finite number"),
    ("sigma_max: .inf\n", r"sigma_max: inf is not a finite number; allowed: null \(use the model's value\) or a number > 0"),
    ("randomize: 1\n", r"randomize: 1 is not true or false"),
    ("sigma_min: 0\n", r"sigma_min: 0 is out of range; allowed: null \(use the model's value\) or a number > 0"),
    ("sigma_min: 5\nsigma_max: 2\n", r"sigma_min: 5 must be below sigma_max \(2\)"),
    ("sharpness_rand_min: 0.99\nsharpness_rand_max: 0.9\n", r"sharpness_rand_min: 0.99 is above sharpness_rand_max"),
    ("sharpness_rand_min: -1\n", r"sharpness_rand_min: -1 is out of range; allowed: a number > 0"),
])
def test_bad_values_name_the_file_key_value_and_allowed_range(text, expected):
    """Wrong types and out-of-range values are rejected with file, key, value and the hard limit."""
    message = rejected(text)
    assert message.startswith(SOURCE)
    assert re.search(expected, message), message


def test_all_problems_are_reported_at_once():
    """A file with several mistakes lists all of them, not just the first."""
    message = rejected("sharpness: -1\nend_blend: x\nsharpnes: 0.9\n")
    assert "sharpness: -1" in message and "end_blend: 'x'" in message and "sharpnes: unknown" in message


@pytest.mark.parametrize("key, suggestion", [
    ("sharpnes", "sharpness"), ("initial_step_rand", "initial_step_size_rand"), ("end_bend", "end_blend"),
    ("smooth_blend", "smooth_blend_factor"),
])
def test_unknown_keys_suggest_the_closest_name(key, suggestion):
    """A typo, or a key from the original release, points at the right name."""
    assert f"{key}: unknown setting; did you mean {suggestion}?" in rejected(f"{key}: 1\n")


def test_an_unrelated_unknown_key_has_no_suggestion():
    assert re.search(r"line 1: colour: unknown setting$", rejected("colour: blue\n"), re.M)


def test_original_scheduler_section_gets_a_migration_hint():
    """The original file nested its keys under `scheduler:`; say how to fix that."""
    assert "not under 'scheduler:'" in rejected("scheduler:\n  sharpness: 0.9\n")


def test_duplicate_keys_are_an_error_not_a_silent_last_wins():
    assert "sharpness: appears twice (lines 1 and 3); keep one" in rejected("sharpness: 0.9\nend_blend: 0.5\nsharpness: 0.8\n")


@pytest.mark.parametrize("text, expected", [
    ("sharpness: [0.9\n", r"line 1: sharpness: column 12: not valid YAML: did not find expected ',' or ']'"),
    ("sharpness: 0.9\n  end_blend: 0.5\n", r"not valid YAML"),
    # Reported where the mistake was made, not where the YAML reader noticed it (a line later).
    ("rho: 7\nsharpness: [0.9\nend_blend: 0.5\n", r"line 2: sharpness: column 12: not valid YAML: did not find expected ',' or ']'"),
    ("rho: 7\nsharpness: \"0.9\nend_blend: 0.5\n", r"line 2: sharpness: column 12: not valid YAML: found unexpected end"),
    ("sharpness 0.9\nrho: 7\n", r"line 1: sharpness: column 14: not valid YAML: no ':' after the key"),
    ("- sharpness\n- end_blend\n", r"the file is a list, not key: value pairs"),
    ("just text\n", r"the file is a str, not key: value pairs"),
    ("", r"the file is empty"),
    ("# only a comment\n", r"the file is empty"),
])
def test_broken_or_empty_files_are_rejected_with_where(text, expected):
    message = rejected(text)
    assert message.startswith(SOURCE) and re.search(expected, message), message


def test_python_tags_are_refused_and_never_run(tmp_path):
    """A YAML tag that would build Python objects is an error, and nothing is executed."""
    marker = tmp_path / "ran"
    text = f"sharpness: !!python/object/apply:os.system ['touch {marker}']\n"
    assert "only plain values are allowed" in rejected(text)
    assert not marker.exists()


def test_a_config_that_would_make_sigmas_rise_is_rejected_at_load():
    """Strictly decreasing sigmas are a hard limit: checked over 1 to 200 steps on the SD range."""
    message = rejected("sharpness: 1.5\n")
    assert "would not be strictly decreasing" in message and "sharpness" in message


def test_a_rho_too_small_for_the_range_is_rejected_at_load_with_its_name():
    """sigma_max ** (1 / rho) overflows a float: the file is refused naming rho, not a crash."""
    message = rejected("rho: 0.001\n")
    assert "overflows" in message and "rho=0.001 is too small" in message


def test_kes_config_cannot_be_built_invalid():
    """The typed object itself refuses bad values, including through dataclasses.replace."""
    with pytest.raises(ConfigError, match="sharpness"):
        KesConfig(sharpness=-1.0)
    with pytest.raises(ConfigError, match="end_blend"):
        dataclasses.replace(KesConfig(), end_blend="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        KesConfig().sharpness = 0.5  # type: ignore[misc]


def test_with_values_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="sharpnes: unknown setting; did you mean sharpness"):
        KesConfig().with_values({"sharpnes": 0.9})


def test_notices_flag_settings_that_do_nothing():
    """A retired key, or a _rand flag with randomize off, is allowed but reported."""
    config = parse("early_stopping_threshold: 0.02\nrandomize: false\nsharpness_rand: true\n")
    notices = "\n".join(config.notices())
    assert "early_stopping_threshold is set but has no effect" in notices
    assert "sharpness_rand set, but randomize is false" in notices
    assert KesConfig().notices() == []


def test_every_randomizable_parameter_has_consistent_rand_keys():
    """<name>_rand is a bool; _rand_min/_rand_max share the parameter's type and hard limits, and say
    which parameter and which part they are (no role is inferred from a name's suffix)."""
    for parameter in RANDOMIZABLE:
        flag, low, high = (BY_NAME[random_key(parameter, part)] for part in RandomPart)
        assert flag.kind is bool and flag.default is False
        assert low.kind is high.kind is parameter.kind
        assert (low.minimum, low.maximum, high.minimum, high.maximum) == (parameter.minimum, parameter.maximum) * 2
        assert low.check(low.default) is None and high.check(high.default) is None
        assert [key.random_part for key in (flag, low, high)] == list(RandomPart)
        assert {key.randomizes for key in (flag, low, high)} == {parameter.name}
    assert {key.randomizes for key in RANDOM_KEYS} == {p.name for p in RANDOMIZABLE}


def test_each_parameter_has_exactly_one_kind_and_the_subsets_follow_the_roles():
    """Shape, model range, randomization, retired, guidance or mixing: one each. The uses follow from what a
    key does: anything that changes the sigmas is in the infotext and presets; the shape, guidance and mixing
    keys are X/Y/Z axes and in the infotext; presets decide the schedule, not the guidance or the mixing."""
    for parameter in PARAMETERS:
        assert sum(parameter.has(kind) for kind in KINDS) == 1, parameter.name
        changes_sigmas = parameter.has(Role.SHAPE) or parameter.has(Role.MODEL_RANGE)
        per_generation = parameter.has(Role.GUIDANCE) or parameter.has(Role.MIXING)
        assert parameter.has(Role.PRESET) == changes_sigmas, parameter.name
        assert parameter.has(Role.AXIS) == (parameter.has(Role.SHAPE) or per_generation), parameter.name
        if changes_sigmas or per_generation:
            assert parameter.has(Role.INFOTEXT), parameter.name
    assert [p.name for p in SHAPE_PARAMETERS] == list(SHAPE_DEFAULTS)
    assert {p.name for p in MODEL_RANGE_PARAMETERS} == {"sigma_min", "sigma_max"}
    assert [p.name for p in PARAMETERS if p.retired] == ["early_stopping_threshold"]
    assert not any(p.retired for p in CONTROL_PARAMETERS + INFOTEXT_PARAMETERS + PRESET_PARAMETERS)


def test_a_parameter_declared_with_two_kinds_or_half_a_random_key_is_refused():
    with pytest.raises(TypeError, match="exactly one of"):
        Parameter("both", float, 1.0, help="", roles=frozenset({Role.SHAPE, Role.RETIRED}))
    with pytest.raises(TypeError, match="randomizes and random_part go together"):
        Parameter("half", bool, False, help="", roles=frozenset({Role.RANDOMIZATION}), randomizes="rho")
    with pytest.raises(TypeError, match="a choice among its choices"):
        Parameter("pick", str, "c", choices=("a", "b"), help="", roles=frozenset({Role.GUIDANCE}))
    with pytest.raises(TypeError, match="a choice among its choices"):
        Parameter("pick", str, "a", help="", roles=frozenset({Role.GUIDANCE}))


@pytest.mark.parametrize("value", ["TNR", "classifier-free", 1, True, None, ["tnr"]])
def test_a_choice_outside_its_list_is_refused_with_the_list(value):
    problem = "is empty" if value is None else "is not allowed"
    with pytest.raises(ConfigError, match=rf"guidance: .*{problem}; allowed: one of cfg, tnr, tnr_single"):
        validate({"guidance": value})
    assert validate({"guidance": "tnr_single"}).guidance == "tnr_single"


def test_suggested_ranges_and_defaults_respect_the_hard_limits():
    """Suggestions and defaults are always valid values (the suggestion is advice inside the limits)."""
    for parameter in PARAMETERS:
        assert parameter.check(parameter.default) is None, parameter.name
        for value in parameter.suggested or ():
            assert parameter.check(parameter.kind(value)) is None, parameter.name


def test_template_is_plain_yaml_that_safe_load_reads():
    assert isinstance(yaml.safe_load(render_template()), dict)


@pytest.mark.parametrize("key", ["blend_from", "blend_to"])
def test_a_blend_schedule_outside_the_catalogue_is_refused_in_a_file_naming_line_key_value_and_choices(tmp_path, key):
    path = tmp_path / "kes.yaml"
    path.write_text(f"rho: 7.0\n{key}: Karras\n")
    with pytest.raises(ConfigError) as refused:
        read_config(path)
    message = str(refused.value)
    assert f"{path}, line 2: {key}: 'Karras' is not allowed; allowed: one of karras, exponential, normal" in message
    assert message.endswith("ddpm_linear, ddpm_quadratic, iddpm_cosine")
