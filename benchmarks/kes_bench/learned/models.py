"""The committed digit models: loading them, checked against the checksums the training command wrote.

``benchmarks/models/<name>.pt`` holds a model's denoiser and classifier weights; ``manifest.json``
beside them records, per model, the command and recipe (seeds included) that trained it, the tensors'
checksums, the classifier's held-out accuracy and how long training took. Loading refuses weights
whose checksum is not the manifest's: a benchmark never runs on a model nobody can reproduce.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import torch
from k_diffusion.external import CompVisDenoiser

from .data import Split, split
from .denoiser import DigitDiffusion, webui_wrapper
from .network import DigitClassifier, DigitUNet
from .training import MODELS_DIR, RECIPES, weights_checksum

MANIFEST = MODELS_DIR / "manifest.json"


class ModelMissing(RuntimeError):
    """The weights file is absent, or not the one the manifest describes."""


@dataclasses.dataclass(frozen=True)
class DigitModel:
    name: str
    wrapper: CompVisDenoiser   # what a sampler calls, as in the WebUI
    classifier: DigitClassifier
    data: Split


def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text(encoding="utf-8")) if MANIFEST.exists() else {}


def write_manifest(entries: dict[str, Any]) -> None:
    """Write the manifest atomically (a reader never sees half a file)."""
    temporary = MANIFEST.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(entries, indent=1) + "\n", encoding="utf-8")
    temporary.replace(MANIFEST)


def model_path(name: str) -> Path:
    return RECIPES[name].path


@functools.lru_cache(maxsize=None)
def load(name: str) -> DigitModel:
    """The model ``name`` (digits-a or digits-b), its classifier and its data split."""
    if name not in RECIPES:
        raise ModelMissing(f"unknown model {name!r}; the models are {', '.join(RECIPES)}")
    path = model_path(name)
    expected = manifest().get(name, {}).get("checksums")
    if not path.exists() or expected is None:
        raise ModelMissing(f"{path} or its entry in {MANIFEST} is missing: run python benchmarks/train_digits.py")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    for part in ("denoiser", "classifier"):
        if weights_checksum(saved[part]) != expected[part]:
            raise ModelMissing(f"{path}: the {part}'s checksum is not the one in {MANIFEST}")
    unet = DigitUNet()
    unet.load_state_dict(saved["denoiser"])
    classifier = DigitClassifier()
    classifier.load_state_dict(saved["classifier"])
    return DigitModel(name, webui_wrapper(DigitDiffusion(unet.eval())), classifier.eval(),
                      split(RECIPES[name].split_seed))
