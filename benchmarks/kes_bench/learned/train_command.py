"""``python benchmarks/train_digits.py``: train the digit models and write their weights and manifest.

Each model trains in its own process on one thread (two models: both CPU cores, at the same time),
which is also what makes the result reproducible byte for byte on the same machine and torch version.
``--check`` retrains and compares the checksums with the manifest's instead of writing anything.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from typing import Any, Sequence

import torch

from .. import report
from .models import manifest, write_manifest
from .training import RECIPES, Recipe, train

COMMAND = "python benchmarks/train_digits.py"


def train_one(recipe: Recipe) -> dict[str, Any]:
    return train(recipe, report.log)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=COMMAND, description="Train the digit models the learned benchmark "
                                     "measures on (about 25 minutes on 2 cores), or check the committed ones.")
    parser.add_argument("--models", default=",".join(RECIPES),
                        help=f"comma-separated models to train (default: {','.join(RECIPES)})")
    parser.add_argument("--check", action="store_true",
                        help="retrain and compare the checksums with benchmarks/models/manifest.json; write nothing")
    arguments = parser.parse_args(argv)
    names = [name.strip() for name in arguments.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in RECIPES]
    if unknown or not names:
        parser.error(f"--models: unknown {', '.join(unknown) or 'empty list'}; allowed: {', '.join(RECIPES)}")
    arguments.names = names
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    recipes = [RECIPES[name] for name in arguments.names]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(recipes)) as pool:
        trained = pool.map(train_one, recipes, chunksize=1)
    entries = manifest()
    mismatched = []
    for recipe, outcome in zip(recipes, trained):
        if arguments.check:
            expected = entries.get(recipe.name, {}).get("checksums")
            same = expected == outcome["checksums"]
            mismatched += [] if same else [recipe.name]
            print(f"{recipe.name}: {'same checksums as the manifest' if same else 'checksums DIFFER from the manifest'}"
                  f" ({outcome['training_seconds']['total']:.0f} s)")
            continue
        recipe.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = recipe.path.with_suffix(".pt.tmp")
        torch.save({part: outcome[part] for part in ("denoiser", "classifier")}, temporary)
        temporary.replace(recipe.path)
        entries[recipe.name] = {
            "file": recipe.path.name, "command": COMMAND, "recipe": outcome["recipe"],
            "checksums": outcome["checksums"], "classifier_accuracy": outcome["classifier_accuracy"],
            "training_seconds": outcome["training_seconds"], "torch": outcome["torch"],
            "machine": report.machine_info(),
        }
        print(f"{recipe.name}: wrote {recipe.path} (classifier accuracy {outcome['classifier_accuracy']:.4f}, "
              f"{outcome['training_seconds']['total']:.0f} s)")
    if not arguments.check:
        write_manifest(entries)
    report.log(f"done in {time.perf_counter() - started:.0f} s")
    return 1 if mismatched else 0
