"""Schedule-quality benchmark: k-diffusion's real samplers on problems whose exact answer is known.

Run from the repository root with the project's venv active:

    python benchmarks/quality.py                          # full run, about 25 minutes on 2 CPU cores
    python benchmarks/quality.py --quick                  # two problems, three step counts, under a minute
    python benchmarks/quality.py --json benchmarks/out/quality.json --plot benchmarks/out/quality.png
    python benchmarks/quality.py --ablation               # also a few hand-picked KES variants
    python benchmarks/quality.py --replot benchmarks/out/quality.json --plot benchmarks/out/quality.png

What it measures. Each problem (``quality_problems.py``) is a Gaussian mixture or a finite data set
with a closed-form optimal denoiser D(x; sigma), so a schedule's error can be measured without a
trained model. For every problem, denoiser variant, schedule, sampler and step count the sampler
starts from the same seeded noise n, at x = n * sigmas[0], and we report:

(a) ODE error (deterministic samplers: euler, heun, dpm_2, lms, dpmpp_2m): the RMS per coordinate of
    the distance to the exact probability-flow ODE solution from the same start, computed in float64
    by a converged DOP853 integration (its own error, measured each run, is printed and is orders of
    magnitude below the errors reported). On multi-modal problems this RMS is dominated by the few
    samples that end in a different mode than the exact solution (a different image, not a blurrier
    one), which is why it falls more slowly with NFE than a solver's order suggests;
(b) distribution score (all samplers, also euler_ancestral and dpmpp_2m_sde): for mixtures the mean
    log-likelihood under the true mixture, per dimension, of the exact ODE solutions from the same
    starts minus that of the samples ("LL gap": 0 is as good as the exact solver, positive means
    samples off the data's fine structure, negative means samples more concentrated than the data).
    Pairing with the exact solutions removes the batch's sampling noise (printed per problem as
    "exact solutions vs population": their gap to 20,000 exact samples), which would otherwise hide
    many differences; for the stochastic samplers the pairing helps less, as their paths differ. For
    data sets, the RMS per coordinate of the distance to the nearest data point (0 for an exact
    sample; a KDE would only add a bandwidth to choose);
and the NFE actually used, counted by wrapping the denoiser. Because a few mode switches can decide
an RMS, every summary ratio to Karras comes with a paired-bootstrap 90% interval over the starts (the
same resampled starts for the schedule and for Karras): a ratio whose interval contains 1 is not a
result at this batch size.

Fairness choices.
- Different first sigmas. KES starts at 1.1 x 0.9 x 1.25 = 1.2375 x sigma_max (blend only: 1.1 x),
  the others at sigma_max. Each schedule is judged against the exact ODE solution from its own start
  x = n * sigmas[0], because that is the problem the sampler is handed; the extra range is part of
  the work the schedule chose to do. The distribution score sees any effect of the different start.
- Clamped variants. A real SD model knows only sigmas in [0.0292, 14.6146]; KES leaves that range at
  both ends. "sd-clamped" is what k-diffusion's DiscreteEpsDDPMDenoiser does with a perfect
  eps-prediction model: the timestep is clamped, the input and output scalings use the true sigma.
  "x0-clamped" is the cruder D(x; clamp(sigma)). In both, the ODE error is still measured against the
  exact (unclamped) solution: the image the noise should have become; the error then includes what
  the model's blindness outside its range costs, which is what leaving the range risks.
- Schedules are used as a user gets them (KES and k-diffusion return float32), then cast to float64
  for sampling, so no schedule is helped by extra precision.
- Search vs held-out. Problems marked held-out must never be used to choose settings; the summary
  reports them separately, so a setting tuned on the search problems is checked on unseen ones.

Schedules over SD 1.x's range 0.0292 to 14.6146: KES defaults; every preset in configs/presets/ other than
faithful (which is the defaults), as "KES <name>" (the tuned ones come from benchmarks/search_presets.py,
which uses only the search problems); KES blend only (step size and noise
scale 1, sharpness 1, sigma_max_factor kept at its default 1.1); Karras rho 7; Exponential;
Polyexponential at A1111's default rho 1 (which is the Exponential schedule up to float rounding: it is
here because the WebUI lists it); KL Optimal (n sigmas evenly spaced in arctan(sigma), then 0; A1111's
own variant ends at sigma_min without the final 0, we append it so every schedule ends alike); Align
Your Steps for SD 1.5 (the published timesteps turned into sigmas by SD 1.5's discrete schedule,
interpolated log-linearly to n sigmas as A1111 does, then 0).

Speed: the same run times each schedule's computation against Karras (interleaved batches, medians)
for the step counts used. Every figure printed comes from this script; nothing is tuned inside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import statistics
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

# k-diffusion imports clip-anytorch, which imports the deprecated pkg_resources; torchsde warns about
# float rounding at the ends of its Brownian interval. Both are noise in the benchmark's output.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
warnings.filterwarnings("ignore", message="Should have")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from k_diffusion import sampling  # noqa: E402

import simple_kes  # noqa: E402
from simple_kes import presets  # noqa: E402
from simple_kes.schedule import SHAPE_DEFAULTS, _cached_sigmas  # noqa: E402  (_cached_sigmas: to time KES anew)

sys.path.insert(0, str(Path(__file__).parent))
from bench_core import interleaved_medians, machine_info  # noqa: E402
from quality_problems import (SD_SIGMA_MAX, SD_SIGMA_MIN, Mixture, all_problems, reference_convergence,  # noqa: E402
                              solve_probability_flow, sd_clamped, x0_clamped)

STEP_COUNTS = (5, 8, 10, 15, 20, 30, 50)
SUMMARY_SAMPLERS = ("euler", "dpmpp_2m")
SUMMARY_STEPS = (10, 20)
BASELINE = "Karras rho 7"
NOISE_SEED = 20240605
EXACT_SAMPLES = 20_000
BOOTSTRAP_RESAMPLES = 1000
SQUARED_ERRORS = "squared_errors"


# --- schedules -------------------------------------------------------------------------------------------

# Align Your Steps, SD 1.5 (NVIDIA's published 10-step list, as timesteps of the 1000-step DDPM).
AYS_SD15_TIMESTEPS = (999, 850, 736, 645, 545, 455, 343, 233, 124, 24, 0)


def sd15_discrete_sigmas() -> np.ndarray:
    """Sigma of each of SD 1.5's 1000 timesteps: the 'scaled linear' betas from 0.00085 to 0.012."""
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    alphas_cumprod = np.cumprod(1 - betas)
    return np.sqrt((1 - alphas_cumprod) / alphas_cumprod)


AYS_SD15_SIGMAS = sd15_discrete_sigmas()[list(AYS_SD15_TIMESTEPS)]


def align_your_steps_sd15(n: int) -> torch.Tensor:
    """The AYS list resampled to n sigmas, linear in log sigma over the step fraction, then 0."""
    known_fractions = np.linspace(0, 1, len(AYS_SD15_SIGMAS))
    log_sigmas = np.interp(np.linspace(0, 1, n), known_fractions, np.log(AYS_SD15_SIGMAS))
    return torch.tensor(np.append(np.exp(log_sigmas), 0.0), dtype=torch.float32)


def kl_optimal(n: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """n sigmas evenly spaced in arctan(sigma) from sigma_max to sigma_min, then 0."""
    angles = torch.linspace(math.atan(sigma_max), math.atan(sigma_min), n, dtype=torch.float32)
    return sampling.append_zero(torch.tan(angles))


KES_BLEND_ONLY = dict(initial_step_size=1.0, final_step_size=1.0, step_size_factor=1.0, initial_noise_scale=1.0,
                      final_noise_scale=1.0, noise_scale_factor=1.0, sharpness=1.0)
# Hand-picked variants for --ablation: each changes one thing about the defaults (or, last, all three).
KES_ABLATIONS = {
    "KES start at sigma_max": dict(sigma_max_factor=1 / (0.9 * 1.25)),
    "KES sharpness 1": dict(sharpness=1.0),
    "KES final scales 1": dict(final_step_size=1.0, step_size_factor=1.0, final_noise_scale=1.0,
                               noise_scale_factor=1.0),
    "KES in range": dict(sigma_max_factor=1 / (0.9 * 1.25), sharpness=1.0, final_step_size=1.0, step_size_factor=1.0,
                         final_noise_scale=1.0, noise_scale_factor=1.0),
}


def kes(**shape) -> Callable[[int], torch.Tensor]:
    def schedule(n: int) -> torch.Tensor:
        return simple_kes.get_sigmas_karras_exponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX, **shape)
    return schedule


def schedules(ablation: bool) -> dict[str, Callable[[int], torch.Tensor]]:
    """Name -> n -> the n + 1 sigmas, as the WebUI would get them (float32)."""
    chosen = {
        "KES defaults": kes(),
        "KES blend only": kes(**KES_BLEND_ONLY),
        BASELINE: lambda n: sampling.get_sigmas_karras(n, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=7.0),
        "Exponential": lambda n: sampling.get_sigmas_exponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX),
        "Polyexponential": lambda n: sampling.get_sigmas_polyexponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX, rho=1.0),
        "KL Optimal": lambda n: kl_optimal(n, SD_SIGMA_MIN, SD_SIGMA_MAX),
        "AYS SD1.5": align_your_steps_sd15,
    }
    chosen.update({name: kes(**shape) for name, shape in preset_shapes().items()})
    if ablation:
        chosen.update({name: kes(**shape) for name, shape in KES_ABLATIONS.items()})
    return chosen


def preset_shapes() -> dict[str, dict[str, Any]]:
    """'KES <name>' -> schedule arguments, for every preset in configs/presets/ except faithful (the defaults).

    Presets leave sigma_min/sigma_max unset (the model's range), so only the shape keys are passed.
    """
    shapes = {}
    for name in presets.preset_paths():
        if name != "faithful":
            values = presets.preset_values(name)
            shapes[f"KES {name}"] = {key: values[key] for key in SHAPE_DEFAULTS}
    return shapes


def kes_uncached(shape: dict[str, Any]) -> Callable[[int], torch.Tensor]:
    """A KES schedule computed anew each call, as after any change of settings or steps."""
    def schedule(n: int) -> torch.Tensor:
        _cached_sigmas.cache_clear()
        return simple_kes.get_sigmas_karras_exponential(n, SD_SIGMA_MIN, SD_SIGMA_MAX, **shape)
    return schedule


# --- samplers --------------------------------------------------------------------------------------------

DETERMINISTIC = ("euler", "heun", "dpm_2", "lms", "dpmpp_2m")
STOCHASTIC = ("euler_ancestral", "dpmpp_2m_sde")
SAMPLERS = DETERMINISTIC + STOCHASTIC


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


DENOISER_VARIANTS = {
    "exact": lambda problem: problem.denoise,
    "sd-clamped": lambda problem: sd_clamped(problem.denoise),
    "x0-clamped": lambda problem: x0_clamped(problem.denoise),
}


# --- scoring ---------------------------------------------------------------------------------------------

class Scorer:
    """The distribution score of a batch of samples for one problem (see the module docstring)."""

    def __init__(self, problem: Mixture):
        self.problem = problem

    @property
    def label(self) -> str:
        return "nearest-point distance" if self.problem.is_data_set else "LL gap per dim"

    def __call__(self, samples: torch.Tensor, exact: torch.Tensor) -> float:
        """Score of ``samples``; ``exact`` are the exact ODE solutions from the same starts.

        The likelihood gap is paired: comparing with the exact solutions from the same noise removes
        the batch's own sampling noise, which is larger than many of the differences we look for.
        """
        if self.problem.is_data_set:
            return float((self.problem.nearest_distance(samples).pow(2).mean() / self.problem.dim).sqrt())
        return (self.mean_log_likelihood(exact) - self.mean_log_likelihood(samples)) / self.problem.dim

    def mean_log_likelihood(self, samples: torch.Tensor) -> float:
        return float(self.problem.log_density(samples).mean())

    def batch_noise(self, exact: torch.Tensor) -> float:
        """How far the exact solutions' own score is from the population's: what pairing removes."""
        if self.problem.is_data_set:
            return self(exact, exact)
        population = self.problem.sample(EXACT_SAMPLES, torch.Generator().manual_seed(NOISE_SEED + 1))
        return (self.mean_log_likelihood(population) - self.mean_log_likelihood(exact)) / self.problem.dim


# --- the run ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Settings:
    problem_names: tuple[str, ...] | None  # None: all
    steps: tuple[int, ...]
    batch: int
    variants: tuple[str, ...]
    samplers: tuple[str, ...]
    timing_rounds: int
    ablation: bool


FULL = Settings(None, STEP_COUNTS, 1024, tuple(DENOISER_VARIANTS), SAMPLERS, 15, False)
QUICK = Settings(("mix-8d", "ring-2d"), (5, 10, 20), 128, ("exact", "sd-clamped"), SAMPLERS, 5, False)


def problem_noise(problem: Mixture, batch: int) -> torch.Tensor:
    """The seeded standard-normal starts (batch, dim) every schedule shares on ``problem``."""
    return torch.randn(batch, problem.dim, generator=torch.Generator().manual_seed(NOISE_SEED), dtype=torch.float64)


def evaluate_schedule(problem: Mixture, variant: str, noise: torch.Tensor, schedule_name: str,
                      by_steps: dict[int, torch.Tensor], samplers: tuple[str, ...],
                      reference: Callable[[float], torch.Tensor],
                      scorer: Callable[[torch.Tensor, torch.Tensor], float] | None = None) -> list[dict[str, Any]]:
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
                SQUARED_ERRORS: squared,  # per start, for the intervals; not written to JSON
                "score": scorer(samples, exact) if scorer is not None else None,
            })
    return rows


def run_problem(problem: Mixture, settings: Settings, schedule_table: dict[str, dict[int, torch.Tensor]],
                log: Callable[[str], None]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All (variant, schedule, sampler, steps) results for one problem, and facts about its references."""
    noise = problem_noise(problem, settings.batch)
    scorer = Scorer(problem)
    references: dict[float, torch.Tensor] = {}  # exact ODE solution per first sigma

    def reference(sigma_start: float) -> torch.Tensor:
        if sigma_start not in references:
            references[sigma_start] = solve_probability_flow(problem, noise * sigma_start, sigma_start)
        return references[sigma_start]

    rows = []
    for variant in settings.variants:
        started = time.perf_counter()
        for schedule_name, by_steps in schedule_table.items():
            rows += evaluate_schedule(problem, variant, noise, schedule_name, by_steps, settings.samplers,
                                      reference, scorer)
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


def time_schedules(schedule_names: list[str], steps: tuple[int, ...], rounds: int) -> dict[str, dict[int, float]]:
    """Per schedule and step count: median seconds per computation relative to Karras."""
    timed = schedules(ablation=True)
    timed["KES defaults"] = kes_uncached({})
    timed["KES blend only"] = kes_uncached(KES_BLEND_ONLY)
    timed.update({name: kes_uncached(shape) for name, shape in {**preset_shapes(), **KES_ABLATIONS}.items()})
    ratios: dict[str, dict[int, float]] = defaultdict(dict)
    for n in steps:
        medians = interleaved_medians({name: (lambda f=timed[name]: f(n)) for name in schedule_names},
                                      rounds, batch_seconds=0.01)
        for name in schedule_names:
            ratios[name][n] = medians[name] / medians[BASELINE]
    return dict(ratios)


# --- aggregation and printing ----------------------------------------------------------------------------

def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(max(v, 1e-300)) for v in values))


def select(rows: list[dict[str, Any]], **match) -> list[dict[str, Any]]:
    return [row for row in rows if all(row[key] == value for key, value in match.items())]


def group_name(held_out: bool) -> str:
    return "held-out" if held_out else "search"


def summary_ratios(rows: list[dict[str, Any]], variant: str, held_out: bool, schedule_names: list[str],
                   steps: tuple[int, ...]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Per schedule and 'sampler@steps': (ratio, low, high), ratio = geometric mean over the group's
    problems of ODE error / Karras's, with its paired-bootstrap 90% interval (``ratio_interval``)."""
    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    for schedule in schedule_names:
        table[schedule] = {}
        for sampler in SUMMARY_SAMPLERS:
            for n in (s for s in SUMMARY_STEPS if s in steps):
                pairs = []
                for row in select(rows, variant=variant, held_out=held_out, schedule=schedule, sampler=sampler,
                                  steps=n):
                    karras = select(rows, variant=variant, problem=row["problem"], schedule=BASELINE,
                                    sampler=sampler, steps=n)[0]
                    pairs.append((row, karras))
                if pairs:
                    ratio = geometric_mean([row["ode_error"] / karras["ode_error"] for row, karras in pairs])
                    table[schedule][f"{sampler}@{n}"] = (ratio, *ratio_interval(pairs))
    return table


def ratio_interval(pairs: list[tuple[dict[str, Any], dict[str, Any]]], resamples: int = BOOTSTRAP_RESAMPLES,
                   level: float = 0.9) -> tuple[float, float]:
    """Paired bootstrap interval of the geometric-mean error ratio: how far the batch's luck could move it.

    On multi-modal problems the RMS is dominated by the few starts that end in another mode, so a
    batch of ~1000 can move a ratio by several percent. Each resample redraws the starts of every
    problem with replacement, the same draw for the schedule and for Karras (they share the starts).
    The draws are seeded per problem, so every schedule is judged on the same resamples.
    """
    logs = torch.zeros(resamples, dtype=torch.float64)
    for row, karras in pairs:
        squared, baseline = row[SQUARED_ERRORS], karras[SQUARED_ERRORS]
        generator = torch.Generator().manual_seed(NOISE_SEED + sum(map(ord, row["problem"])))
        starts = torch.randint(len(squared), (resamples, len(squared)), generator=generator)
        logs += 0.5 * (squared[starts].mean(1).log() - baseline[starts].mean(1).log())
    ratios = (logs / len(pairs)).exp()
    tail = (1 - level) / 2
    return float(ratios.quantile(tail)), float(ratios.quantile(1 - tail))


def ratio_to_karras(rows: list[dict[str, Any]], schedule: str, sampler: str, n: int,
                    metric: str = "ode_error") -> float | None:
    """Geometric mean over the rows' problems of ``metric`` / Karras's (None without rows)."""
    ratios = [row[metric] / select(rows, problem=row["problem"], schedule=BASELINE, sampler=sampler,
                                   steps=n)[0][metric]
              for row in select(rows, schedule=schedule, sampler=sampler, steps=n)]
    return geometric_mean(ratios) if ratios else None


def ratio_by_steps(rows: list[dict[str, Any]], schedule: str, samplers: list[str],
                   steps: tuple[int, ...], metric: str = "ode_error") -> list[list[str]]:
    """One line per sampler: the schedule's ``metric`` / Karras's per step count, geometric mean over problems."""
    return [[sampler] + [format_plain(ratio_to_karras(rows, schedule, sampler, n, metric)) for n in steps]
            for sampler in samplers]


def detail_summary(rows: list[dict[str, Any]], schedule_names: list[str], steps: tuple[int, ...]) -> list[list[str]]:
    """One line per schedule: nearest-point distance / Karras's in the summary cells (``rows``: data sets)."""
    cells = [(sampler, n) for sampler in SUMMARY_SAMPLERS for n in SUMMARY_STEPS if n in steps]
    return [[name] + [format_plain(ratio_to_karras(rows, name, sampler, n, "score")) for sampler, n in cells]
            for name in schedule_names]


def format_plain(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}" if ratio >= 0.01 else f"{ratio:.1e}"


def format_ratio(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.2f} ({low:.2f}-{high:.2f})"


def print_table(title: str, header: list[str], body: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for line in body:
        print("| " + " | ".join(line) + " |")


def metric_by_steps(rows: list[dict[str, Any]], metric: str, schedule_names: list[str], steps: tuple[int, ...],
                    aggregate: Callable[[list[float]], float]) -> list[list[str]]:
    body = []
    for schedule in schedule_names:
        cells = []
        for n in steps:
            values = [row[metric] for row in select(rows, schedule=schedule, steps=n)]
            cells.append(f"{aggregate(values):.3g}" if values else "")
        body.append([schedule] + cells)
    return body


def print_report(rows, facts, problems, schedule_table, timing, settings) -> None:
    schedule_names = list(schedule_table)
    steps = settings.steps
    step_header = [f"{n}" for n in steps]

    print_table("## Problems", ["problem", "split", "what", "data std", "reference ODE error", "score",
                                "exact solutions vs population"],
                [[p.name, group_name(p.held_out), p.description, f"{facts[p.name]['data_std']:.2f}",
                  f"{facts[p.name]['reference_error']:.1e}", facts[p.name]["score_label"],
                  f"{facts[p.name]['exact_ode_score']:.2g}"] for p in problems])

    first = {name: float(by_steps[steps[0]][0]) for name, by_steps in schedule_table.items()}
    last = {name: {n: float(s[-2]) for n, s in by_steps.items()} for name, by_steps in schedule_table.items()}
    print_table("## Schedules: first sigma, last sigma before 0, compute time / Karras (median)",
                ["schedule", "sigma_0"] + [f"last@{n}" for n in steps] + [f"time@{n}" for n in steps],
                [[name, f"{first[name]:.4g}"] + [f"{last[name][n]:.3g}" for n in steps]
                 + [f"{timing[name][n]:.2f}" for n in steps] for name in schedule_names])

    nfe_body = []
    for sampler in settings.samplers:
        counts = [{row["nfe"] for row in select(rows, sampler=sampler, steps=n)} for n in steps]
        nfe_body.append([sampler] + ["/".join(str(c) for c in sorted(count)) for count in counts])
    print_table("## NFE used (counted; the same for every schedule where one number is shown)",
                ["sampler"] + step_header, nfe_body)

    for variant in settings.variants:
        for held_out in (False, True):
            table = summary_ratios(rows, variant, held_out, schedule_names, steps)
            columns = list(next(iter(table.values())))
            print_table(f"## Summary, {variant} denoiser, {group_name(held_out)} problems: ODE error / Karras rho 7 "
                        "(geometric mean over problems, paired-bootstrap 90% interval over the starts; < 1 is better)",
                        ["schedule"] + columns,
                        [[name] + [format_ratio(*table[name][c]) for c in columns] for name in schedule_names])

    data_set_names = {p.name for p in problems if p.is_data_set}
    data_set_rows = [row for row in rows if row["problem"] in data_set_names]
    for variant in settings.variants:
        for held_out in (False, True):
            group_rows = select(data_set_rows, variant=variant, held_out=held_out)
            if group_rows:
                print_table(f"## Fine detail, {variant} denoiser, {group_name(held_out)} data sets: nearest-point "
                            "distance / Karras rho 7 (geometric mean over data sets; < 1 is better)",
                            ["schedule"] + [f"{s}@{n}" for s in SUMMARY_SAMPLERS for n in SUMMARY_STEPS if n in steps],
                            detail_summary(group_rows, schedule_names, steps))

    for schedule in [name for name in schedule_names if name in preset_shapes()]:
        for variant in settings.variants:
            for held_out in (False, True):
                print_table(f"## {schedule} everywhere, {variant} denoiser, {group_name(held_out)} problems: ODE error / "
                            "Karras rho 7 (geometric mean over problems)", ["sampler \\ steps"] + step_header,
                            ratio_by_steps(select(rows, variant=variant, held_out=held_out), schedule,
                                           [s for s in settings.samplers if s in DETERMINISTIC], steps))
                group_rows = select(data_set_rows, variant=variant, held_out=held_out)
                if group_rows:
                    print_table(f"## {schedule} fine detail everywhere, {variant} denoiser, {group_name(held_out)} "
                                "data sets: nearest-point distance / Karras rho 7 (geometric mean over data sets)",
                                ["sampler \\ steps"] + step_header,
                                ratio_by_steps(group_rows, schedule, list(settings.samplers), steps, "score"))

    for variant in settings.variants:
        for held_out in (False, True):
            group_rows = select(rows, variant=variant, held_out=held_out)
            for sampler in [s for s in settings.samplers if s in DETERMINISTIC]:
                print_table(f"### ODE error (RMS per coordinate, geometric mean over problems): {variant}, "
                            f"{group_name(held_out)}, {sampler}",
                            ["schedule \\ steps"] + step_header,
                            metric_by_steps(select(group_rows, sampler=sampler), "ode_error", schedule_names,
                                            steps, geometric_mean))
            for data_sets in (False, True):
                kind_rows = [row for row in group_rows if row["problem"] in
                             {p.name for p in problems if p.is_data_set == data_sets}]
                if not kind_rows:
                    continue
                label, aggregate = (("nearest-point distance, geometric mean", geometric_mean) if data_sets else
                                    ("LL gap per dim, mean", statistics.fmean))
                for sampler in settings.samplers:
                    print_table(f"### Distribution score ({label} over {'data-set' if data_sets else 'mixture'} "
                                f"problems): {variant}, {group_name(held_out)}, {sampler}",
                                ["schedule \\ steps"] + step_header,
                                metric_by_steps(select(kind_rows, sampler=sampler), "score", schedule_names,
                                                steps, aggregate))


def error_curve(rows, variant: str, sampler: str, schedule: str) -> tuple[list[int], list[float], list[float]]:
    """By step count: the NFE, the ODE error (geometric mean over problems) and its ratio to Karras (geometric
    mean over problems of the per-problem ratio)."""
    variant_rows = select(rows, variant=variant)
    chosen = select(variant_rows, sampler=sampler, schedule=schedule)
    steps = sorted({row["steps"] for row in chosen})
    nfe = [select(chosen, steps=n)[0]["nfe"] for n in steps]
    error = [geometric_mean([row["ode_error"] for row in select(chosen, steps=n)]) for n in steps]
    return nfe, error, [ratio_to_karras(variant_rows, schedule, sampler, n) for n in steps]


def write_plot(path: Path, rows, schedule_names, variants) -> None:
    """For euler and dpmpp_2m against NFE, log scales, one line per schedule, with the SD-like denoiser when
    it ran: the ODE error (geometric mean over all problems) and, below, its ratio to Karras (geometric
    mean over problems of the per-problem ratio, linear scale), where differences of 10% are visible."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    variant = "sd-clamped" if "sd-clamped" in variants else variants[0]
    figure, axes = plt.subplots(2, len(SUMMARY_SAMPLERS), figsize=(11, 9.5), squeeze=False)
    for j, sampler in enumerate(SUMMARY_SAMPLERS):
        for schedule in schedule_names:
            nfe, error, ratio = error_curve(rows, variant, sampler, schedule)
            style = {"marker": "o", "label": schedule,
                     "linestyle": "-" if schedule.startswith("KES") or schedule == BASELINE else "--"}
            axes[0][j].plot(nfe, error, **style)
            axes[1][j].plot(nfe, ratio, **style)
        axes[0][j].set(ylabel="RMS error to exact ODE solution", title=f"{sampler}, {variant} denoiser")
        axes[1][j].set(ylabel=f"error / {BASELINE} (below 1 is better)",
                       title=f"{sampler}, {variant} denoiser, relative to {BASELINE}")
        axes[0][j].set(yscale="log")
        for axis in (axes[0][j], axes[1][j]):
            axis.set(xscale="log", xlabel="NFE")
            axis.set_xticks(nfe, [str(n) for n in nfe])  # the NFE that ran, as plain numbers
            axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def replot(json_path: Path, plot_path: Path) -> None:
    """Draw the figure again from a run saved with --json (no sampling)."""
    saved = json.loads(json_path.read_text(encoding="utf-8"))
    write_plot(plot_path, saved["results"], list(saved["schedules"]), saved["settings"]["variants"])


# --- command line ----------------------------------------------------------------------------------------

def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two problems, three step counts, smaller batch")
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write every number as JSON to PATH")
    parser.add_argument("--plot", metavar="PATH", type=Path, help="write an error-vs-NFE plot (PNG) to PATH")
    parser.add_argument("--ablation", action="store_true", help="also run hand-picked KES variants")
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--variants", help=f"comma-separated denoiser variants of {', '.join(DENOISER_VARIANTS)}")
    parser.add_argument("--samplers", help=f"comma-separated samplers of {', '.join(SAMPLERS)}")
    parser.add_argument("--workers", type=int, default=2, help="problems run in parallel (default 2)")
    parser.add_argument("--replot", metavar="JSON", type=Path,
                        help="only draw --plot again from a run saved with --json, without sampling")
    return parser.parse_args(argv)


def settings_from(arguments: argparse.Namespace) -> Settings:
    settings = QUICK if arguments.quick else FULL
    split = lambda text: tuple(part.strip() for part in text.split(","))  # noqa: E731
    if arguments.problems:
        settings = dataclasses.replace(settings, problem_names=split(arguments.problems))
    if arguments.variants:
        settings = dataclasses.replace(settings, variants=split(arguments.variants))
    if arguments.samplers:
        settings = dataclasses.replace(settings, samplers=split(arguments.samplers))
    return dataclasses.replace(settings, ablation=arguments.ablation)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.replot:
        if not arguments.plot:
            raise SystemExit("--replot needs --plot PATH (where to draw the figure)")
        replot(arguments.replot, arguments.plot)
        return 0
    settings = settings_from(arguments)
    # The tensors are small (a few hundred x 64): thread hand-offs cost more than they save, and on a
    # shared machine a second thread makes timings erratic.
    torch.set_num_threads(1)
    started = time.perf_counter()

    problems = [p for p in all_problems() if settings.problem_names is None or p.name in settings.problem_names]
    schedule_functions = schedules(settings.ablation)
    schedule_table = {name: {n: function(n).to(torch.float64) for n in settings.steps}
                      for name, function in schedule_functions.items()}
    for problem in problems:
        log(f"{problem.name} ({group_name(problem.held_out)}): {problem.description}")
    # One process per problem at a time: the problems are independent and each runs single-threaded.
    with multiprocessing.get_context("fork").Pool(arguments.workers) as pool:
        results = pool.starmap(run_problem, [(problem, settings, schedule_table, log) for problem in problems],
                               chunksize=1)
    rows = [row for problem_rows, _ in results for row in problem_rows]
    facts = {problem.name: problem_facts for problem, (_, problem_facts) in zip(problems, results)}
    log("timing the schedules")
    timing = time_schedules(list(schedule_table), settings.steps, settings.timing_rounds)

    print("# Schedule quality: k-diffusion samplers on problems with exact denoisers\n")
    print(f"Batch {settings.batch} starts from seeded noise, float64; SD 1.x range {SD_SIGMA_MIN} to {SD_SIGMA_MAX}.")
    print_report(rows, facts, problems, schedule_table, timing, settings)
    elapsed = time.perf_counter() - started
    print(f"\nTotal run time: {elapsed:.0f} s")

    if arguments.plot:
        write_plot(arguments.plot, rows, list(schedule_table), settings.variants)
    if arguments.json:
        arguments.json.parent.mkdir(parents=True, exist_ok=True)
        arguments.json.write_text(json.dumps({
            "machine": machine_info(), "settings": dataclasses.asdict(settings), "run_seconds": elapsed,
            "problems": {p.name: {"held_out": p.held_out, "description": p.description, **facts[p.name]}
                         for p in problems},
            "schedules": {name: {str(n): s.tolist() for n, s in by_steps.items()}
                          for name, by_steps in schedule_table.items()},
            "time_ratio_to_karras": {name: {str(n): r for n, r in by_n.items()} for name, by_n in timing.items()},
            "summary": {variant: {group_name(h): summary_ratios(rows, variant, h, list(schedule_table), settings.steps)
                                  for h in (False, True)} for variant in settings.variants},
            "results": [{key: value for key, value in row.items() if key != SQUARED_ERRORS} for row in rows],
        }, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
