"""Search KES blends between two schedules of the guides (issue 16): which two, and where between them.

Data kept apart. The search sees only the exact search problems (sd-clamped, batch 256, as
``kes_bench.search`` has them) and the search model digits-a (its own noise seed, as ``kes_bench.learned.search``).
The held-out problems (batch 1024) and the held-out model digits-b (the learned benchmark's noise seed)
judge the pick once, after it is chosen; nothing judged there feeds back.

What is searched. A blend from A to B at weight w is the blend from B to A at 1 - w, so the pairs are
unordered: every pair of bases that start at sigma_max (ddim_uniform starts lower and is left out),
with Karras's ends kept as the other searches keep them (sigma_max_factor 1, no ramps, no sharpening)
and Karras at rho 7. The blend is the weight's logits at the first and the last step (l0, l1; the
weight of B is sigmoid(l)).

Stages.
1. Screen, exact problems: each pair at five blends: fixed mixes at w = 0.25, 0.5, 0.75 and the two
   ramps l0 = -3, l1 = 3 and back. Objective, over the aim's cells (euler and dpmpp_2m at 10 and 20
   steps), with r the ODE error and d the nearest-point distance relative to Karras rho 7's:

       J = mean log r + mean max(0, log r - log 0.9) + 20 x max(0, mean log d)

   (push every cell below 0.9, keep fine detail). Karras itself scores 2 x log(1 / 0.9) / 2 = 0.105.
2. Refine, exact problems: Nelder-Mead over (l0, l1) from the best point of each of the SHORTLIST
   best pairs.
3. Choose, digits-a: the refined candidates and the screen's leaders scored with the learned search's
   objective (FID and ODE error at the same cells pushed below 0.9 x Karras's, no lower class
   accuracy). The pick is the best there among those whose exact J beats Karras's own.
4. Judge the pick on the held-out problems and on digits-b: the aim is ODE error and FID at least 10%
   below Karras's in all four cells, with fine detail and class accuracy no worse.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import simple_kes
from simple_kes.schedule_catalogue import SCHEDULE_NAMES

from . import report
from .evaluation import DETAIL, Evaluator
from .learned import search as learned_search
from .learned.benchmark import NOISE_SEED
from .learned.training import HELD_OUT_MODEL, SEARCH_MODEL
from .schedules import kes
from .search import BLEND_STEEPNESS, nelder_mead

NAME = "base_search"
SAMPLERS = ("euler", "dpmpp_2m")
TARGET_STEPS = (10, 20)
AIM = 0.9
DETAIL_WEIGHT = 20.0
BASES = tuple(name for name in SCHEDULE_NAMES if name != "ddim_uniform")
SCREEN_BLENDS = ((-1.0986, -1.0986), (0.0, 0.0), (1.0986, 1.0986), (-3.0, 3.0), (3.0, -3.0))  # (l0, l1)
LOGIT_LIMIT = 8.0
SHORTLIST, QUICK_SHORTLIST = 4, 2
REFINE, QUICK_REFINE = 24, 4
BATCH, QUICK_BATCH = 256, 48
JUDGE_BATCH, QUICK_JUDGE_BATCH = 1024, 64
LEARNED_BATCH, QUICK_LEARNED_BATCH = 256, 32
QUICK_BASES = ("karras", "exponential", "kl_optimal", "gits")


def blend_values(pair: Sequence[str], logits: Sequence[float]) -> dict[str, Any]:
    """Config values for the blend from pair[0] to pair[1] with these logits, Karras's ends kept."""
    l0, l1 = (float(np.clip(value, -LOGIT_LIMIT, LOGIT_LIMIT)) for value in logits)
    return {"blend_from": pair[0], "blend_to": pair[1], "rho": 7.0, "sigma_max_factor": 1.0,
            "start_blend": 0.5 + l0 / BLEND_STEEPNESS, "end_blend": 0.5 + l1 / BLEND_STEEPNESS,
            "smooth_blend_factor": BLEND_STEEPNESS, "update_interval": 1, "initial_step_size": 1.0,
            "final_step_size": 1.0, "step_size_factor": 1.0, "initial_noise_scale": 1.0, "final_noise_scale": 1.0,
            "noise_scale_factor": 1.0, "sharpness": 1.0}


def exact_objective(ratios: dict[str, float]) -> float:
    """J of the module docstring."""
    errors = [math.log(r) for cell, r in ratios.items() if not cell.startswith(DETAIL)]
    details = [math.log(r) for cell, r in ratios.items() if cell.startswith(DETAIL)]
    aim = sum(max(0.0, e - math.log(AIM)) for e in errors) / len(errors)
    return sum(errors) / len(errors) + aim + DETAIL_WEIGHT * max(0.0, sum(details) / len(details))


# --- one evaluator per worker process ------------------------------------------------------------------

_EVALUATOR: Evaluator | None = None


def _init_exact(batch: int) -> None:
    global _EVALUATOR
    _EVALUATOR = Evaluator(batch, TARGET_STEPS, SAMPLERS, detail=True)


def evaluate_exact(candidate: tuple[tuple[str, str], tuple[float, float]]) -> dict[str, Any]:
    pair, logits = candidate
    values = blend_values(pair, logits)
    record = {"pair": list(pair), "logits": [float(v) for v in logits], "values": values}
    try:
        simple_kes.validate(values)
    except simple_kes.ConfigError as error:
        return {**record, "objective": math.inf, "ratios": {}, "invalid": str(error)}
    ratios = _EVALUATOR.schedule_ratios(kes(**values))
    return {**record, "objective": exact_objective(ratios), "ratios": ratios}


def refine_exact(args: tuple[tuple[str, str], tuple[float, float], int]) -> list[dict[str, Any]]:
    """Nelder-Mead over (l0, l1) in unit coordinates (-8..8 mapped to 0..1) for one pair."""
    pair, logits, evaluations = args

    def evaluate_unit(unit: np.ndarray) -> dict[str, Any]:
        return evaluate_exact((pair, tuple(np.clip(unit, 0, 1) * 2 * LOGIT_LIMIT - LOGIT_LIMIT)))

    start = (np.asarray(logits) + LOGIT_LIMIT) / (2 * LOGIT_LIMIT)
    return nelder_mead(evaluate_unit, start, evaluations)


_SCORER: learned_search.CandidateScorer | None = None


def _init_learned(batch: int, model: str, seed: int) -> None:
    global _SCORER
    _SCORER = learned_search.CandidateScorer(batch, model=model, seed=seed)


def evaluate_learned(values: dict[str, Any]) -> dict[str, Any]:
    ratios = _SCORER.ratios(kes(**values))
    return {"ratios": ratios, "objective": learned_search.objective(ratios)}


# --- the stages ----------------------------------------------------------------------------------------

def best_per_pair(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best valid result of each pair, best first."""
    best: dict[tuple[str, ...], dict[str, Any]] = {}
    for result in results:
        key = tuple(result["pair"])
        if math.isfinite(result["objective"]) and (key not in best or result["objective"] < best[key]["objective"]):
            best[key] = result
    return sorted(best.values(), key=lambda result: result["objective"])


def run(bases: Sequence[str], batch: int, shortlist: int, evaluations: int, learned_batch: int, judge_batch: int,
        workers: int) -> dict[str, Any]:
    pairs = list(itertools.combinations(bases, 2))
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_init_exact, initargs=(batch,)) as pool:
        report.log(f"screen: {len(pairs)} pairs x {len(SCREEN_BLENDS)} blends on the exact search problems")
        screen = pool.map(evaluate_exact, [(pair, blend) for pair in pairs for blend in SCREEN_BLENDS], chunksize=4)
        karras_like = pool.apply(evaluate_exact, ((("karras", "exponential"), (-LOGIT_LIMIT, -LOGIT_LIMIT)),))
        leaders = best_per_pair(screen)[:shortlist]
        report.log(f"refine: Nelder-Mead over (l0, l1) for {[r['pair'] for r in leaders]}, {evaluations} each")
        refined = [r for history in pool.map(refine_exact, [(tuple(r["pair"]), tuple(r["logits"]), evaluations)
                                                            for r in leaders], chunksize=1) for r in history]
    finalists = [r for r in best_per_pair(screen + refined)[:2 * shortlist]
                 if r["objective"] < karras_like["objective"]]
    report.log(f"choose: {len(finalists)} finalists beating Karras's exact J on {SEARCH_MODEL}")
    with context.Pool(workers, initializer=_init_learned,
                      initargs=(learned_batch, SEARCH_MODEL, learned_search.SEARCH_SEED)) as pool:
        learned = pool.map(evaluate_learned, [r["values"] for r in finalists], chunksize=1)
    for finalist, scored in zip(finalists, learned):
        finalist["learned"] = scored
    pick = min(finalists, key=lambda r: r["learned"]["objective"]) if finalists else None
    judged = judge(pick["values"], judge_batch, learned_batch) if pick else None
    return {"bases": list(bases), "batch": batch, "learned_batch": learned_batch, "judge_batch": judge_batch,
            "karras_like": karras_like, "screen": screen, "refined": refined, "finalists": finalists,
            "pick": pick, "judged": judged}


def judge(values: dict[str, Any], batch: int, learned_batch: int) -> dict[str, Any]:
    """The pick on the held-out problems and on the held-out model (once, after choosing)."""
    held_out = Evaluator(batch, TARGET_STEPS, SAMPLERS, detail=True, held_out=True).schedule_ratios(kes(**values))
    scorer = learned_search.CandidateScorer(learned_batch, model=HELD_OUT_MODEL, seed=NOISE_SEED)
    return {"held_out_problems": held_out, HELD_OUT_MODEL: scorer.ratios(kes(**values))}


AIM_WORDS = {"ode_error": "ODE error", "fid": "FID", "fine_detail": "fine detail", "class_accuracy": "class accuracy"}


def aim_met(judged: dict[str, Any]) -> dict[str, bool]:
    """The aim's four conditions on the held-out ground."""
    exact, model = judged["held_out_problems"], judged[HELD_OUT_MODEL]
    cells = [f"{s}@{n}" for s in SAMPLERS for n in TARGET_STEPS]
    return {"ode_error": all(exact[c] <= AIM for c in cells),
            "fid": all(r["fid"] <= AIM for r in model.values()),
            "fine_detail": fine_detail(exact) <= 1.0,
            "class_accuracy": all(r["accuracy_change"] >= 0 for r in model.values())}


# --- the report ------------------------------------------------------------------------------------------

def pair_name(pair: Sequence[str]) -> str:
    return f"{pair[0]} -> {pair[1]}"


def blend_words(values: dict[str, Any]) -> str:
    return (f"blend_from {values['blend_from']}, blend_to {values['blend_to']}, start_blend "
            f"{values['start_blend']:.4g}, end_blend {values['end_blend']:.4g}")


def fine_detail(ratios: dict[str, float]) -> float:
    """The nearest-point distance ratio, geometric mean over the aim's cells and the data sets."""
    detail = [r for cell, r in ratios.items() if cell.startswith(DETAIL)]
    return math.exp(sum(map(math.log, detail)) / len(detail))


def with_fine_detail(result: dict[str, Any]) -> dict[str, Any]:
    """An exact result with its fine-detail summary, as the report prints it."""
    return {"pair": result["pair"], "objective": result["objective"], "ratios": result["ratios"],
            "fine_detail": fine_detail(result["ratios"]),
            "blend": [result["values"]["start_blend"], result["values"]["end_blend"]]}


def exact_cells(result: dict[str, Any]) -> list[str]:
    cells = [f"{s}@{n}" for s in SAMPLERS for n in TARGET_STEPS]
    return [report.ratio(result["ratios"][c]) for c in cells] + [report.ratio(result["fine_detail"])]


def screen_text(numbers: dict[str, Any]) -> str:
    cells = [f"{s}@{n}" for s in SAMPLERS for n in TARGET_STEPS]
    header = ["pair", "start / end blend", *[f"ODE {c}" for c in cells], "fine detail", "objective"]
    rows = [[pair_name(r["pair"]), "{:.3g} / {:.3g}".format(*r["blend"]), *exact_cells(r), f"{r['objective']:.3f}"]
            for r in numbers["leaders"]]
    karras = numbers["karras_like"]
    rows.append(["Karras rho 7 itself", "", *exact_cells(karras), f"{karras['objective']:.3f}"])
    return (f"Screen and refinement on the exact search problems (sd-clamped denoiser, batch {numbers['batch']}): "
            f"{numbers['pairs']} pairs of {numbers['bases']} bases, {numbers['evaluations']} evaluations. The best "
            "pairs, each at its best blend (the weight of the second schedule is sigmoid(11 x (blend - 0.5))): ODE error relative to Karras rho 7 at the aim's cells and fine detail "
            "(geometric mean over those cells and the data sets); lower is better, and the objective of Karras itself "
            "is in the last row:\n\n" + report.table(header, rows, align_right_from=1))


def learned_cells(ratios: dict[str, Any]) -> list[str]:
    return [f"{r['fid']:.3f} / {r['ode_error']:.3f} / {r['accuracy_change']:+g}" for r in ratios.values()]


def pick_text(numbers: dict[str, Any]) -> str:
    finalists = numbers["finalists"]
    if not finalists:
        return "No pair beat Karras rho 7's own objective on the exact search problems: there is no pick."
    header = ["finalist", *[f"{cell} FID / ODE / acc" for cell in finalists[0]["learned"]["ratios"]], "objective"]
    rows = [[pair_name(r["pair"]), *learned_cells(r["learned"]["ratios"]), f"{r['learned']['objective']:.3f}"]
            for r in finalists]
    return (f"The finalists (the best pairs whose exact objective beats Karras's) on {SEARCH_MODEL} at batch "
            f"{numbers['learned_batch']} (its search noise): FID and ODE error relative to Karras rho 7, class "
            "accuracy change in percentage points:\n\n" + report.table(header, rows, align_right_from=1)
            + f"\n\nThe pick (best there): {blend_words(numbers['pick']['values'])}, Karras's ends, no ramps, "
              "no sharpening.")


def judged_text(numbers: dict[str, Any]) -> str:
    judged = numbers["judged"]
    if judged is None:
        return "Nothing to judge."
    cells = [f"{s}@{n}" for s in SAMPLERS for n in TARGET_STEPS]
    exact = {"ratios": judged["held_out_problems"], "fine_detail": judged["fine_detail"]}
    model = judged[HELD_OUT_MODEL]
    header = ["held-out ground", *cells, "fine detail"]
    rows = [["ODE error, held-out problems", *exact_cells(exact)],
            [f"FID, {HELD_OUT_MODEL}", *[report.ratio(model[c]["fid"]) for c in cells], ""],
            [f"ODE error, {HELD_OUT_MODEL}", *[report.ratio(model[c]["ode_error"]) for c in cells], ""],
            [f"class accuracy change, {HELD_OUT_MODEL} (points)", *[f"{model[c]['accuracy_change']:+g}" for c in cells],
             ""]]
    met = numbers["aim"]
    verdict = ("meets the aim" if all(met.values()) else
               "does not meet the aim: " + report.join_words([AIM_WORDS[name] for name, ok in met.items() if not ok])
               + " fall short")
    return (f"The pick judged once on the held-out problems (batch {numbers['judge_batch']}) and on "
            f"{HELD_OUT_MODEL} (batch {numbers['learned_batch']}, the learned benchmark's noise seed), relative to "
            "Karras rho 7:\n\n" + report.table(header, rows, align_right_from=1)
            + f"\n\nThe pick {verdict} (ODE error and FID at most {AIM:g} x Karras's in all four cells, fine "
              "detail and class accuracy no worse). These are single runs without intervals, enough to reject a "
              "pick; a schedule that met the aim would be judged by the full benchmarks, with their intervals, "
              "before it shipped as a preset.")


def build_report(results: dict[str, Any]) -> dict[str, Any]:
    leaders = [with_fine_detail(r) for r in best_per_pair(results["screen"] + results["refined"])[:8]]
    judged = results["judged"]
    if judged:
        judged = {**judged, "fine_detail": fine_detail(judged["held_out_problems"])}
    numbers = {"batch": results["batch"], "learned_batch": results["learned_batch"],
               "judge_batch": results["judge_batch"], "bases": len(results["bases"]),
               "pairs": len(results["bases"]) * (len(results["bases"]) - 1) // 2,
               "evaluations": len(results["screen"]) + len(results["refined"]) + 1,
               "leaders": leaders, "karras_like": with_fine_detail(results["karras_like"]),
               "finalists": results["finalists"], "pick": results["pick"], "judged": judged,
               "aim": aim_met(results["judged"]) if results["judged"] else None}
    return {"screen": numbers, "pick": numbers, "judged": numbers}


def render(numbers: dict[str, Any]) -> list[tuple[str, str]]:
    return [("screen", screen_text(numbers["screen"])), ("pick", pick_text(numbers["pick"])),
            ("judged", judged_text(numbers["judged"]))]


def write(results: dict[str, Any], folder: Path) -> Path:
    return report.write_results(results, folder, NAME, build_report, render)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/search_bases.py",
                                     description="Search KES blends between two schedules of the guides on the "
                                                 "search problems and the search model; judge the pick on the "
                                                 "held-out ones.")
    parser.add_argument("--quick", action="store_true", help="smoke run: four bases, small batches")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--results", metavar="DIR", type=Path,
                        help="where base_search.md and .json go (default benchmarks/results; benchmarks/out for "
                             "--quick)")
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    record = report.run_record(argv, "search_bases.py")
    started = time.perf_counter()
    results = run(QUICK_BASES if quick else BASES, QUICK_BATCH if quick else BATCH,
                  QUICK_SHORTLIST if quick else SHORTLIST, QUICK_REFINE if quick else REFINE,
                  QUICK_LEARNED_BATCH if quick else LEARNED_BATCH, QUICK_JUDGE_BATCH if quick else JUDGE_BATCH,
                  arguments.workers)
    record["run_seconds"] = time.perf_counter() - started
    md_path = write({"benchmark": NAME, "written_by": record, **results},
                    report.results_folder(arguments.results, quick))
    report.log(f"wrote {md_path} and {md_path.with_suffix('.json')}")
    return 0
