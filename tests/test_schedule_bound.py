"""The free-form schedules of the bound on what any schedule could gain (benchmarks/kes_bench/bound.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

# benchmarks/ holds the command lines and their library, kes_bench; it is not installed.
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench import bound  # noqa: E402
from kes_bench.problems import SD_SIGMA_MAX, SD_SIGMA_MIN  # noqa: E402
from kes_bench.schedules import free_form_sigmas, karras_logits  # noqa: E402
from simple_kes.schedule import get_sigmas_exponential, get_sigmas_karras  # noqa: E402

pytestmark = pytest.mark.bench


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 60).flatmap(lambda n: st.lists(st.floats(-10, 10), min_size=n - 1, max_size=n - 1)))
def test_every_logit_vector_is_a_valid_schedule_with_karras_ends(logits):
    """The optimizer can try any logits: each must give a strictly decreasing schedule with Karras's
    exact ends, or the bound would compare schedules with different ends."""
    sigmas = free_form_sigmas(np.array(logits))
    assert len(sigmas) == len(logits) + 2
    assert sigmas[0] == SD_SIGMA_MAX and sigmas[-2] == SD_SIGMA_MIN and sigmas[-1] == 0
    assert torch.isfinite(sigmas).all()
    assert (sigmas.diff() < 0).all()


def test_zero_logits_are_the_exponential_schedule():
    """One of the optimizer's two starts is the Exponential schedule."""
    expected = get_sigmas_exponential(10, SD_SIGMA_MIN, SD_SIGMA_MAX).to(torch.float64)
    torch.testing.assert_close(free_form_sigmas(np.zeros(9)), expected, rtol=1e-6, atol=0)


def test_karras_logits_give_back_karras_rho_7():
    """The other start is Karras rho 7 itself, so the bound is never worse than the baseline it reports."""
    expected = get_sigmas_karras(20, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0).to(torch.float64)
    torch.testing.assert_close(free_form_sigmas(karras_logits(20)), expected, rtol=1e-6, atol=0)


def test_detail_counts_only_where_it_is_worse_than_karras():
    """The keep-detail objective adds a penalty only for fine detail worse than Karras's."""
    better_detail = {"euler@10": 0.9, "detail:euler@10": 0.8}
    worse_detail = {"euler@10": 0.9, "detail:euler@10": 1.1}
    assert bound.score(better_detail, "euler@10", bound.KEEP_DETAIL) == np.log(0.9)
    assert bound.score(worse_detail, "euler@10", bound.ODE_ONLY) == np.log(0.9)
    assert bound.score(worse_detail, "euler@10", bound.KEEP_DETAIL) > np.log(0.9) + 1.0


@pytest.mark.parametrize("cells", ["euler", "euler@2", "euler_ancestral@10", "euler@10,heun@x"])
def test_a_cell_without_an_ode_error_or_a_free_sigma_is_refused_by_name(cells, capsys):
    """A stochastic sampler has no ODE error and 2 steps leave no sigma free: refused with the flag's form."""
    with pytest.raises(SystemExit):
        bound.main(["--cells", cells])
    assert "expected SAMPLER@STEPS" in capsys.readouterr().err
