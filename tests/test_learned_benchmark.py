"""The committed digit models and the learned benchmark: checksums, floors, the quick mode, the results file."""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from kes_bench import report  # noqa: E402
from kes_bench.learned import benchmark, models, training  # noqa: E402
from kes_bench.schedules import BASELINE  # noqa: E402

pytestmark = pytest.mark.bench


@pytest.mark.parametrize("name", list(training.RECIPES))
def test_committed_models_load_with_the_manifests_checksums(name):
    entry = models.manifest()[name]
    assert entry["command"] == "python benchmarks/train_digits.py"
    assert entry["recipe"]["seed"] == training.RECIPES[name].seed
    assert entry["recipe"]["split_seed"] == training.RECIPES[name].split_seed
    model = models.load(name)
    assert model.name == name
    assert training.RECIPES[name].path.stat().st_size < 5_000_000


@pytest.mark.parametrize("name", list(training.RECIPES))
def test_each_judge_recognises_at_least_97_percent_of_its_held_out_digits(name):
    model = models.load(name)
    accuracy = training.classifier_accuracy(model.classifier, model.data)
    assert accuracy >= benchmark.CLASSIFIER_FLOOR
    assert accuracy == pytest.approx(models.manifest()[name]["classifier_accuracy"], abs=1e-6)


def test_weights_that_are_not_the_manifests_are_refused(tmp_path, monkeypatch):
    name = training.SEARCH_MODEL
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(training.RECIPES[name].path, folder / f"{name}.pt")
    shutil.copy(models.MANIFEST, folder / "manifest.json")
    monkeypatch.setattr(training, "MODELS_DIR", folder)
    monkeypatch.setattr(models, "MANIFEST", folder / "manifest.json")
    models.load.cache_clear()
    try:
        assert models.load(name).name == name  # the copy is fine
        models.load.cache_clear()
        saved = torch.load(folder / f"{name}.pt", weights_only=True)
        saved["denoiser"]["head.bias"] += 1e-3
        torch.save(saved, folder / f"{name}.pt")
        with pytest.raises(models.ModelMissing, match="denoiser's checksum"):
            models.load(name)
        (folder / f"{name}.pt").unlink()
        with pytest.raises(models.ModelMissing, match="train_digits.py"):
            models.load(name)
        with pytest.raises(models.ModelMissing, match="unknown model 'digits-z'"):
            models.load("digits-z")
    finally:
        models.load.cache_clear()


@pytest.mark.slow
def test_quick_mode_prints_one_table_of_ratios_to_karras_and_the_floors(tmp_path, capsys):
    assert benchmark.main(["--quick", "--results", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    tables = [line for line in printed.splitlines() if line.startswith("|")]
    header = tables[0]
    assert header.startswith("| schedule / Karras |")
    for cell in ("euler@10 FID", "euler@20 ODE", "dpmpp_2m@10 FID", "dpmpp_2m@20 ODE"):
        assert cell in header
    schedules = [row.split("|")[1].strip() for row in tables[2:]]
    assert set(schedules) == set(benchmark.learned_schedules()) - {BASELINE, "Polyexponential"}
    for row in tables[2:]:
        ratios = [float(value) for value in row.split("|")[2:-1]]
        assert len(ratios) == 8 and all(0.01 < r < 100 for r in ratios)
    assert "classifier accuracy" in printed and "sample class accuracy" in printed
    saved = json.loads((tmp_path / "learned.json").read_text(encoding="utf-8"))
    assert saved["settings"] == {**benchmark.QUICK.__dict__, "models": list(benchmark.QUICK.models),
                                 "steps": list(benchmark.QUICK.steps), "samplers": list(benchmark.QUICK.samplers),
                                 "scales": list(benchmark.QUICK.scales)}
    # NFE is counted, not assumed: euler and dpmpp_2m call the model once per step.
    for row in saved["results"]:
        assert row["nfe"] == row["steps"]
    assert (tmp_path / "learned.png").stat().st_size > 10_000


def test_the_results_file_is_regenerated_from_its_json_alone(tmp_path):
    md = BENCHMARKS / "results" / "learned.md"
    saved = report.read_json(md.with_suffix(".json"))
    regenerated = benchmark.render(benchmark.build_report(saved))
    assert report.parse_sections(md.read_text(encoding="utf-8")) == {name: text.strip() for name, text in regenerated}


def test_the_published_run_meets_the_floors():
    saved = report.read_json(BENCHMARKS / "results" / "learned.json")
    numbers = saved["report"]["models"]
    guided = str(numbers["guided_scale"])
    for model, facts in numbers["models"].items():
        assert facts["classifier_accuracy"] >= benchmark.CLASSIFIER_FLOOR
        assert facts["tasks"][guided]["floor"]["accuracy"] >= benchmark.SAMPLE_ACCURACY_FLOOR
    assert set(numbers["models"]) == set(training.RECIPES)
    assert saved["settings"]["samplers"] == list(benchmark.SAMPLERS)
    assert saved["settings"]["steps"] == list(benchmark.STEP_COUNTS)


def test_every_figure_in_the_learned_md_is_a_number_of_its_json():
    from test_bench_results import assert_figures_come_from_the_json

    assert_figures_come_from_the_json(BENCHMARKS / "results" / "learned.md")


def test_the_search_objective_pays_for_missing_the_aim_and_for_lost_accuracy():
    from kes_bench.learned import search

    def ratios(fid, ode, accuracy_change=0.0):
        return {cell: {"fid": fid, "ode_error": ode, "accuracy_change": accuracy_change} for cell in ("a@1", "b@2")}
    karras_like = search.objective(ratios(1.0, 1.0))
    assert karras_like == pytest.approx(2 * math.log(1 / search.AIM))
    assert search.objective(ratios(0.85, 0.8)) == pytest.approx((math.log(0.85) + math.log(0.8)) / 2)
    assert search.objective(ratios(0.85, 0.8, accuracy_change=-1.0)) == pytest.approx(
        search.objective(ratios(0.85, 0.8)) + search.ACCURACY_WEIGHT * 0.01)
    assert search.objective(ratios(0.95, 0.8)) > search.objective(ratios(0.89, 0.8))


@pytest.mark.parametrize("name", ["learned_search", "learned_bound"])
def test_every_figure_in_the_search_and_bound_results_is_a_number_of_their_json(name):
    from test_bench_results import assert_figures_come_from_the_json

    assert_figures_come_from_the_json(BENCHMARKS / "results" / f"{name}.md")


@pytest.mark.slow
def test_search_and_bound_quick_runs_write_their_results_files(tmp_path, capsys):
    """Both commands end to end on the real models, at smoke size: a pick the benchmark could judge, and a
    free-form schedule with Karras's ends judged on the held-out model."""
    from kes_bench.learned import bound, search

    assert search.main(["--quick", "--workers", "1", "--results", str(tmp_path)]) == 0
    saved = json.loads((tmp_path / "learned_search.json").read_text(encoding="utf-8"))
    assert saved["results"][0]["params"]["rho"] == pytest.approx(7.0)  # the Karras-like point comes first
    assert set(saved["pick"]["rounded"]) >= {"rho", "start_blend", "end_blend"}
    assert "pick" in report.parse_sections((tmp_path / "learned_search.md").read_text(encoding="utf-8"))

    assert bound.main(["--quick", "--workers", "1", "--results", str(tmp_path)]) == 0
    found = json.loads((tmp_path / "learned_bound.json").read_text(encoding="utf-8"))["found"][0]
    sigmas = torch.tensor(found["sigmas"])
    assert sigmas[-1] == 0 and bool((sigmas[:-2] > sigmas[1:-1]).all())
    assert float(sigmas[0]) == pytest.approx(14.6146, rel=1e-5) and float(sigmas[-2]) == pytest.approx(0.0292, rel=1e-5)
    assert found["objective"] <= found["karras_objective"]
    capsys.readouterr()
