"""The digit data, its splits, and training: seeded and reproducible to the byte on one machine."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from kes_bench.learned import data, training  # noqa: E402

pytestmark = pytest.mark.bench


def test_digits_are_16x16_in_minus_one_to_one():
    images, labels = data.digit_images()
    assert images.shape == (1797, 1, 16, 16)
    assert images.min() >= -1 and images.max() <= 1
    assert sorted(labels.unique().tolist()) == list(range(10))


def test_a_split_holds_out_a_quarter_of_every_class_and_loses_nothing():
    images, labels = data.digit_images()
    part = data.split(0)
    assert len(part.train_images) + len(part.held_images) == len(images)
    for digit in range(10):
        total = int((labels == digit).sum())
        held = int((part.held_labels == digit).sum())
        assert held == round(total * data.HELD_OUT_FRACTION)
    # No held-out digit is also a training digit (the images are distinct rows of the data set).
    train_rows = {tuple(row.tolist()) for row in part.train_images.flatten(1)}
    overlap = sum(tuple(row.tolist()) in train_rows for row in part.held_images.flatten(1))
    duplicates_in_data = len(images) - len({tuple(row.tolist()) for row in images.flatten(1)})
    assert overlap <= duplicates_in_data


def test_splits_are_seeded():
    assert torch.equal(data.split(3).held_images, data.split(3).held_images)
    assert not torch.equal(data.split(0).held_labels, data.split(1).held_labels)


def test_the_two_recipes_differ_in_split_and_seed_only():
    search, held_out = training.RECIPES[training.SEARCH_MODEL], training.RECIPES[training.HELD_OUT_MODEL]
    assert search.split_seed != held_out.split_seed and search.seed != held_out.seed
    assert dataclasses.replace(held_out, name=search.name, split_seed=search.split_seed, seed=search.seed) == search


TINY = dict(steps=12, batch=16, warmup_steps=3, classifier_epochs=1)


def quiet(_message: str) -> None:
    pass


@pytest.mark.slow
def test_training_the_same_recipe_twice_gives_the_same_bytes():
    recipe = dataclasses.replace(training.RECIPES[training.SEARCH_MODEL], **TINY)
    first, second = training.train(recipe, quiet), training.train(recipe, quiet)
    assert first["checksums"] == second["checksums"]
    other = training.train(dataclasses.replace(recipe, seed=recipe.seed + 1), quiet)
    assert other["checksums"]["denoiser"] != first["checksums"]["denoiser"]


def test_checksum_covers_names_shapes_and_values():
    state = {"a": torch.zeros(2, 2), "b": torch.ones(3)}
    base = training.weights_checksum(state)
    assert training.weights_checksum(dict(reversed(state.items()))) == base
    assert training.weights_checksum({"a": torch.zeros(4), "b": torch.ones(3)}) != base
    assert training.weights_checksum({"c": torch.zeros(2, 2), "b": torch.ones(3)}) != base
    changed = {"a": torch.zeros(2, 2), "b": torch.tensor([1.0, 1.0, 1.0 + 2 ** -20])}
    assert training.weights_checksum(changed) != base


def test_learning_rate_warms_up_then_decays_to_zero():
    recipe = training.RECIPES[training.SEARCH_MODEL]
    rates = [training.learning_rate(recipe, step) for step in range(recipe.steps)]
    peak = rates.index(max(rates))
    assert peak == recipe.warmup_steps - 1 or peak == recipe.warmup_steps
    assert all(a <= b for a, b in zip(rates[:peak], rates[1:peak + 1]))
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1:]))
    assert rates[-1] < recipe.learning_rate * 1e-3
