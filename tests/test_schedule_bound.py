"""The free-form schedules of the bound on what any schedule could gain (benchmarks/schedule_bound.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from k_diffusion import sampling

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))  # benchmarks/ is not a package

import schedule_bound  # noqa: E402
from quality_problems import SD_SIGMA_MAX, SD_SIGMA_MIN  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 60).flatmap(lambda n: st.lists(st.floats(-10, 10), min_size=n - 1, max_size=n - 1)))
def test_every_logit_vector_is_a_valid_schedule_with_karras_ends(logits):
    sigmas = schedule_bound.free_form_sigmas(np.array(logits))
    assert len(sigmas) == len(logits) + 2
    assert sigmas[0] == SD_SIGMA_MAX and sigmas[-2] == SD_SIGMA_MIN and sigmas[-1] == 0
    assert torch.isfinite(sigmas).all()
    assert (sigmas.diff() < 0).all()


def test_zero_logits_are_the_exponential_schedule():
    expected = sampling.get_sigmas_exponential(10, SD_SIGMA_MIN, SD_SIGMA_MAX).to(torch.float64)
    torch.testing.assert_close(schedule_bound.free_form_sigmas(np.zeros(9)), expected, rtol=1e-6, atol=0)


def test_karras_logits_give_back_karras_rho_7():
    expected = sampling.get_sigmas_karras(20, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0).to(torch.float64)
    torch.testing.assert_close(schedule_bound.free_form_sigmas(schedule_bound.karras_logits(20)), expected,
                               rtol=1e-6, atol=0)


def test_detail_counts_only_where_it_is_worse_than_karras():
    better_detail = {"euler@10": 0.9, "detail:euler@10": 0.8}
    worse_detail = {"euler@10": 0.9, "detail:euler@10": 1.1}
    assert schedule_bound.score(better_detail, "euler@10", "keep detail") == np.log(0.9)
    assert schedule_bound.score(worse_detail, "euler@10", "rms only") == np.log(0.9)
    assert schedule_bound.score(worse_detail, "euler@10", "keep detail") > np.log(0.9) + 1.0


@pytest.mark.parametrize("cells", ["euler", "euler@2", "euler_ancestral@10", "euler@10,heun@x"])
def test_a_cell_without_an_ode_error_or_a_free_sigma_is_refused_by_name(cells, capsys):
    with pytest.raises(SystemExit):
        schedule_bound.main(["--cells", cells])
    assert "expected SAMPLER@STEPS" in capsys.readouterr().err
