"""scikit-learn's 8x8 handwritten digits at the models' working resolution, and the seeded splits.

Working resolution 16x16, upsampled bilinearly from the 8x8 originals and scaled to [-1, 1]. Why not 8x8:
a UNet on 8x8 reaches 2x2 after two downsamplings and has no room for a third level, and the upsampled
digits are smooth, so like SD's latents they lie on a thin manifold of the pixel space, and the last,
low-sigma steps have fine structure to get right. Why not larger: nothing is gained over 16x16 (the
information is 8x8) and every model call costs four times as much at 32x32.

A split is stratified: each class's images are shuffled with the split's seed and a quarter of them are
held out. Models train on the training part; their samples are judged against the held-out part.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch
from torch.nn import functional as F

RESOLUTION = 16
HELD_OUT_FRACTION = 0.25
DIGIT_LEVELS = 16  # the 8x8 originals count ink from 0 to 16


@dataclasses.dataclass(frozen=True)
class Split:
    seed: int
    train_images: torch.Tensor   # (n, 1, 16, 16) in [-1, 1]
    train_labels: torch.Tensor   # (n,) int64
    held_images: torch.Tensor
    held_labels: torch.Tensor


@functools.lru_cache(maxsize=2)
def digit_images(resolution: int = RESOLUTION) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits as (images (n, 1, r, r) in [-1, 1], labels (n,)), in scikit-learn's order; r = 16,
    the models' size, or another size for what is measured at it (32: iterative mixing)."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: nothing is downloaded

    digits = load_digits()
    small = torch.tensor(digits.images, dtype=torch.float32)[:, None] / DIGIT_LEVELS * 2 - 1
    images = F.interpolate(small, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return images, torch.tensor(digits.target, dtype=torch.int64)


def split(seed: int, resolution: int = RESOLUTION) -> Split:
    """The stratified training / held-out split with this seed (the same digits at any resolution)."""
    images, labels = digit_images(resolution)
    generator = torch.Generator().manual_seed(seed)
    train, held = [], []
    for digit in range(int(labels.max()) + 1):
        members = torch.nonzero(labels == digit).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        cut = round(len(members) * HELD_OUT_FRACTION)
        held.append(members[:cut])
        train.append(members[cut:])
    train_index, held_index = torch.cat(train).sort().values, torch.cat(held).sort().values
    return Split(seed, images[train_index], labels[train_index], images[held_index], labels[held_index])


def to_pixels(images: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] as uint8 grey levels (for figures)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
