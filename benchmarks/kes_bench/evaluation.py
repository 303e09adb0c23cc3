"""Running k-diffusion's real samplers on the problems, counting model calls, and scoring the samples.

For every problem, denoiser variant, schedule, sampler and step count the sampler starts from the
problem's seeded noise n at x = n * sigmas[0], and a result row records:

- ``ode_error`` (deterministic samplers): RMS per coordinate of the distance to the exact
  probability-flow ODE solution from the same start (a converged float64 DOP853 integration). On
  multi-modal problems it is dominated by the few starts that end in another mode than the exact
  solution: a different image, not a blurrier one.
- ``score`` (all samplers): for data sets the RMS per coordinate of the distance to the nearest data
  point ("fine detail": 0 for an exact sample, decided by the last steps); for mixtures the mean
  log-likelihood per dimension of the exact solutions from the same starts minus that of the samples
  ("LL gap": pairing removes the batch's own sampling noise).
- ``nfe``: the model calls the sampler really made, counted by wrapping the denoiser.

Each schedule is judged against the exact solution from its own start x = n * sigmas[0], because that
is the problem the sampler is handed. Schedules are cast from the float32 a user gets to float64 for
sampling, so no schedule is helped by extra precision.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable, Mapping

import torch

from .problems import (NOISE_SEED, Mixture, all_problems, problem_noise, reference_convergence, sd_clamped,
                       solve_probability_flow, x0_clamped)
from .schedules import BASELINE, karras, sampling
from .statistics import geometric_mean

# torchsde warns about float rounding at the ends of its Brownian interval: noise in the output.
warnings.filterwarnings("ignore", message="Should have")

DETERMINISTIC = ("euler", "heun", "dpm_2", "lms", "dpmpp_2m")
STOCHASTIC = ("euler_ancestral", "dpmpp_2m_sde")
SAMPLERS = DETERMINISTIC + STOCHASTIC
STEP_COUNTS = (5, 8, 10, 15, 20, 30, 50)
# Per-start values kept on a row for the bootstrap intervals; never written to JSON.
SQUARED_ERRORS = "squared_errors"
SQUARED_DISTANCES = "squared_distances"
PER_START = (SQUARED_ERRORS, SQUARED_DISTANCES)
EXACT_SAMPLES = 20_000

DENOISER_VARIANTS = {
    "exact": lambda problem: problem.denoise,
    "sd-clamped": lambda problem: sd_clamped(problem.denoise),
    "x0-clamped": lambda problem: x0_clamped(problem.denoise),
}


def run_sampler(name: str, model, x_start: torch.Tensor, sigmas: torch.Tensor, seed: int) -> torch.Tensor:
    """k-diffusion's sampler ``name`` from x_start; the stochastic ones draw seeded noise."""
    function = getattr(sampling, f"sample_{name}")
    if name == "euler_ancestral":
        generator = torch.Generator().manual_seed(seed)

        def noise(sigma, sigma_next):
            return torch.randn(x_start.shape, generator=generator, dtype=x_start.dtype)
        return function(model, x_start, sigmas, disable=True, noise_sampler=noise)
    if name == "dpmpp_2m_sde":
        # The default noise sampler, a Brownian tree, seeded: one Brownian path shared by all schedules.
        positive = sigmas[sigmas > 0]
        tree = sampling.BrownianTreeNoiseSampler(x_start, positive.min(), positive.max(), seed=seed)
        return function(model, x_start, sigmas, disable=True, noise_sampler=tree)
    return function(model, x_start, sigmas, disable=True)


class CountingModel:
    """Wraps a denoiser and counts its calls: the NFE a sampler really used."""

    def __init__(self, denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        self.denoise = denoise
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.denoise(x, sigma)


class Scorer:
    """The distribution score of a batch of samples for one problem (see the module docstring)."""

    def __init__(self, problem: Mixture):
        self.problem = problem

    @property
    def label(self) -> str:
        return "nearest-point distance" if self.problem.is_data_set else "LL gap per dim"

    def __call__(self, samples: torch.Tensor, exact: torch.Tensor) -> float:
        """Score of ``samples``; ``exact`` are the exact ODE solutions from the same starts."""
        if self.problem.is_data_set:
            return float((self.problem.nearest_distance(samples).pow(2).mean() / self.problem.dim).sqrt())
        return (self.mean_log_likelihood(exact) - self.mean_log_likelihood(samples)) / self.problem.dim

    def squared_distances(self, samples: torch.Tensor) -> torch.Tensor | None:
        """Per start, the squared nearest-point distance per coordinate (data sets only): the score is
        the root of their mean, so its bootstrap works like the ODE error's."""
        if not self.problem.is_data_set:
            return None
        return self.problem.nearest_distance(samples).pow(2) / self.problem.dim

    def mean_log_likelihood(self, samples: torch.Tensor) -> float:
        return float(self.problem.log_density(samples).mean())

    def batch_noise(self, exact: torch.Tensor) -> float:
        """How far the exact solutions' own score is from the population's: what pairing removes."""
        if self.problem.is_data_set:
            return self(exact, exact)
        population = self.problem.sample(EXACT_SAMPLES, torch.Generator().manual_seed(NOISE_SEED + 1))
        return (self.mean_log_likelihood(population) - self.mean_log_likelihood(exact)) / self.problem.dim


def evaluate_schedule(problem: Mixture, variant: str, noise: torch.Tensor, schedule_name: str,
                      by_steps: Mapping[int, torch.Tensor], samplers: tuple[str, ...],
                      reference: Callable[[float], torch.Tensor],
                      scorer: Scorer | None = None) -> list[dict[str, Any]]:
    """One schedule on one problem and denoiser variant: a result row per (steps, sampler).

    ``by_steps`` maps a step count to its float64 sigmas; ``reference(sigma_start)`` returns the exact
    ODE solutions from ``noise * sigma_start``. Without a ``scorer`` the rows carry no distribution score.
    """
    rows = []
    for steps, sigmas in by_steps.items():
        sigma_start = float(sigmas[0])
        exact = reference(sigma_start)
        for sampler in samplers:
            model = CountingModel(DENOISER_VARIANTS[variant](problem))
            samples = run_sampler(sampler, model, noise * sigma_start, sigmas, NOISE_SEED + steps)
            squared = (samples - exact).pow(2).mean(1) if sampler in DETERMINISTIC else None
            rows.append({
                "problem": problem.name, "held_out": problem.held_out, "variant": variant,
                "schedule": schedule_name, "sampler": sampler, "steps": steps, "nfe": model.calls,
                "ode_error": float(squared.mean().sqrt()) if squared is not None else None,
                "score": scorer(samples, exact) if scorer is not None else None,
                SQUARED_ERRORS: squared,
                SQUARED_DISTANCES: scorer.squared_distances(samples) if scorer is not None else None,
            })
    return rows


def run_problem(problem: Mixture, variants: tuple[str, ...], samplers: tuple[str, ...], batch: int,
                schedule_table: Mapping[str, Mapping[int, torch.Tensor]],
                log: Callable[[str], None]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every (variant, schedule, sampler, steps) row for one problem, and facts about its references."""
    noise = problem_noise(problem, batch)
    scorer = Scorer(problem)
    references: dict[float, torch.Tensor] = {}  # exact ODE solution per first sigma

    def reference(sigma_start: float) -> torch.Tensor:
        if sigma_start not in references:
            references[sigma_start] = solve_probability_flow(problem, noise * sigma_start, sigma_start)
        return references[sigma_start]

    rows = []
    for variant in variants:
        started = time.perf_counter()
        for schedule_name, by_steps in schedule_table.items():
            rows += evaluate_schedule(problem, variant, noise, schedule_name, by_steps, samplers, reference, scorer)
        log(f"  {problem.name} {variant}: {time.perf_counter() - started:.1f} s")
    karras_start = float(next(iter(schedule_table[BASELINE].values()))[0])
    facts = {
        "score_label": scorer.label,
        "exact_ode_score": scorer.batch_noise(reference(karras_start)),
        "reference_error": reference_convergence(problem, noise[:64] * karras_start, karras_start),
        "reference_starts": sorted(references),
        "data_std": float(problem.sample(EXACT_SAMPLES, torch.Generator().manual_seed(1)).std(0).mean()),
    }
    return rows, facts


# --- a reusable evaluator for searches: references and baselines computed once ------------------------

DETAIL = "detail:"  # prefix of the nearest-point distance ratios among a candidate's ratios
SEARCH_VARIANT = "sd-clamped"
# A first sigma within this relative distance of Karras's reuses Karras's reference: float32 rounding of
# sigma_max moves the exact solution by orders of magnitude less than the errors measured.
START_TOLERANCE = 1e-5


class Evaluator:
    """The search problems (or, for a final check only, the held-out ones) with their seeded starts, exact
    references and Karras rho 7 baselines, built once; scores candidate schedules as ratios to Karras.

    Only the realistic sd-clamped denoiser: tuning on the exact one would reward ending below the
    model's range, where a real model sees a clamped timestep.
    """

    def __init__(self, batch: int, steps: tuple[int, ...], samplers: tuple[str, ...], detail: bool,
                 held_out: bool = False):
        torch.set_num_threads(1)
        self.steps = steps
        self.samplers = samplers
        self.detail = detail
        self.problems = [p for p in all_problems() if p.held_out == held_out]
        self.noise = {p.name: problem_noise(p, batch) for p in self.problems}
        baseline = {n: karras(n).to(torch.float64) for n in steps}
        self.karras_start = float(baseline[steps[0]][0])
        self.references: dict[tuple[str, float], torch.Tensor] = {}
        self.baseline = self.errors(baseline)

    def reference(self, problem: Mixture, sigma_start: float) -> torch.Tensor:
        if abs(sigma_start / self.karras_start - 1) < START_TOLERANCE:
            sigma_start = self.karras_start
        key = (problem.name, sigma_start)
        if key not in self.references:
            self.references[key] = solve_probability_flow(problem, self.noise[problem.name] * sigma_start, sigma_start)
        return self.references[key]

    def errors(self, by_steps: Mapping[int, torch.Tensor]) -> dict[str, list[float]]:
        """'sampler@steps' -> ODE error per problem; with ``detail``, 'detail:sampler@steps' ->
        nearest-point distance per data set."""
        table: dict[str, list[float]] = {}
        for problem in self.problems:
            scorer = Scorer(problem) if self.detail and problem.is_data_set else None
            rows = evaluate_schedule(problem, SEARCH_VARIANT, self.noise[problem.name], "candidate", by_steps,
                                     self.samplers, lambda start, p=problem: self.reference(p, start), scorer)
            for row in rows:
                cell = f"{row['sampler']}@{row['steps']}"
                table.setdefault(cell, []).append(row["ode_error"])
                if scorer:
                    table.setdefault(DETAIL + cell, []).append(row["score"])
        return table

    def sigma_ratios(self, by_steps: Mapping[int, torch.Tensor]) -> dict[str, float]:
        """Each cell's geometric mean over the problems of error(``by_steps``) / error(Karras rho 7)."""
        errors = self.errors(by_steps)
        return {cell: geometric_mean([e / b for e, b in zip(values, self.baseline[cell])])
                for cell, values in errors.items()}

    def schedule_ratios(self, schedule: Callable[[int], torch.Tensor]) -> dict[str, float]:
        """``sigma_ratios`` of a schedule function at the evaluator's step counts."""
        return self.sigma_ratios({n: schedule(n).to(torch.float64) for n in self.steps})
