"""Training the digit models, and their weights files with checksums.

Two recipes that differ only in their seeds: ``digits-a`` (split 0, seed 0), on which presets are
searched, and ``digits-b`` (split 1, seed 1), the held-out model they are judged on. Each trains

- the denoiser: DDPM epsilon prediction on SD 1.x's 1,000 timesteps (uniform timestep, MSE to the
  noise), the class replaced by the null class 15% of the time, AdamW with a short warm-up and cosine
  decay, and an exponential moving average of the weights (what is saved, as for SD);
- the classifier that judges its samples, on the same training part with one-pixel shifts.

Everything runs on one CPU thread from seeded generators, so the same command on the same machine and
torch version gives the same bytes; ``weights_checksum`` hashes the tensors (names, shapes, values),
not the file, so it does not depend on how torch lays out the archive.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.nn import functional as F

from .data import Split, split
from .denoiser import TIMESTEPS, sd1_alphas_cumprod
from .network import NULL_CLASS, DigitClassifier, DigitUNet

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    split_seed: int
    seed: int
    steps: int = 7000
    batch: int = 128
    learning_rate: float = 2e-3
    warmup_steps: int = 200
    null_class_fraction: float = 0.15
    ema_decay: float = 0.999
    classifier_epochs: int = 40

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.name}.pt"


SEARCH_MODEL = "digits-a"
HELD_OUT_MODEL = "digits-b"
RECIPES = {SEARCH_MODEL: Recipe(SEARCH_MODEL, split_seed=0, seed=0),
           HELD_OUT_MODEL: Recipe(HELD_OUT_MODEL, split_seed=1, seed=1)}


def learning_rate(recipe: Recipe, step: int) -> float:
    if step < recipe.warmup_steps:
        return recipe.learning_rate * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, recipe.steps - recipe.warmup_steps)
    return recipe.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def train_denoiser(recipe: Recipe, data: Split, log: Callable[[str], None]) -> DigitUNet:
    """The EMA weights of a UNet trained on ``data``'s training part."""
    generator = torch.Generator().manual_seed(recipe.seed)
    torch.manual_seed(recipe.seed)  # parameter initialization
    unet = DigitUNet()
    ema = copy.deepcopy(unet).requires_grad_(False)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=recipe.learning_rate, weight_decay=0.0)
    alphas_cumprod = sd1_alphas_cumprod()
    images, labels = data.train_images, data.train_labels
    started = time.perf_counter()
    for step in range(recipe.steps):
        index = torch.randint(len(images), (recipe.batch,), generator=generator)
        x0, label = images[index], labels[index].clone()
        label[torch.rand(recipe.batch, generator=generator) < recipe.null_class_fraction] = NULL_CLASS
        t = torch.randint(TIMESTEPS, (recipe.batch,), generator=generator)
        noise = torch.randn(x0.shape, generator=generator)
        alpha_bar = alphas_cumprod[t][:, None, None, None]
        noised = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        loss = F.mse_loss(unet(noised, t, label), noise)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(recipe, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for average, current in zip(ema.parameters(), unet.parameters()):
                average.lerp_(current, 1 - recipe.ema_decay)
        if step % 500 == 0 or step == recipe.steps - 1:
            log(f"{recipe.name} denoiser: step {step + 1}/{recipe.steps}, loss {loss.item():.4f}, "
                f"{time.perf_counter() - started:.0f} s")
    return ema.eval()


def shifted(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by -1, 0 or 1 pixel in each direction (the background, -1, fills in)."""
    padded = F.pad(images, (1, 1, 1, 1), value=-1.0)
    size = images.shape[-1]
    offsets = torch.randint(3, (len(images), 2), generator=generator)
    return torch.stack([padded[i, :, dy:dy + size, dx:dx + size] for i, (dy, dx) in enumerate(offsets.tolist())])


def train_classifier(recipe: Recipe, data: Split, log: Callable[[str], None],
                     make: Callable[[], torch.nn.Module] = DigitClassifier) -> DigitClassifier:
    """The judge ``make`` builds, trained on ``data``'s training part with one-pixel shifts, seeded by the recipe."""
    generator = torch.Generator().manual_seed(recipe.seed + 1000)
    torch.manual_seed(recipe.seed + 1000)
    classifier = make()
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=2e-3, weight_decay=1e-4)
    images, labels = data.train_images, data.train_labels
    for epoch in range(recipe.classifier_epochs):
        classifier.train()
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), 64):
            index = order[start:start + 64]
            loss = F.cross_entropy(classifier(shifted(images[index], generator)), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    classifier.eval()
    log(f"{recipe.name} classifier: held-out accuracy {classifier_accuracy(classifier, data):.4f}")
    return classifier


@torch.no_grad()
def classifier_accuracy(classifier: DigitClassifier, data: Split) -> float:
    return float((classifier(data.held_images).argmax(1) == data.held_labels).float().mean())


def weights_checksum(state: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, shape, dtype and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().contiguous().cpu()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def train(recipe: Recipe, log: Callable[[str], None]) -> dict[str, Any]:
    """Train the recipe's denoiser and classifier single-threaded; the weights file's content."""
    torch.set_num_threads(1)
    data = split(recipe.split_seed)
    started = time.perf_counter()
    unet = train_denoiser(recipe, data, log)
    denoiser_seconds = time.perf_counter() - started
    classifier = train_classifier(recipe, data, log)
    state = {"denoiser": unet.state_dict(), "classifier": classifier.state_dict()}
    return {
        **state,
        "recipe": dataclasses.asdict(recipe),
        "checksums": {part: weights_checksum(state[part]) for part in state},
        "classifier_accuracy": classifier_accuracy(classifier, data),
        "training_seconds": {"denoiser": denoiser_seconds, "total": time.perf_counter() - started},
        "torch": torch.__version__,
    }
