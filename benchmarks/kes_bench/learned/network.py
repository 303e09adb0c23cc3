"""The learned models' networks: a small class-conditional UNet (the denoiser) and a small CNN (the judge).

The UNet predicts the noise epsilon from a noised image, the DDPM timestep and a class label, as SD's
UNet predicts it from a latent, a timestep and a prompt. The class label 10 is the null class: trained
on part of the time, it is the unconditional prediction classifier-free guidance needs. Timestep and
class enter every residual block as a per-channel scale and shift after its first normalization.

Three levels (16x16, 8x8, 4x4) with 16, 32 and 64 channels: the full-resolution level is the cheap one,
so a model call on a batch of 500 images costs tens of milliseconds per core, and the benchmarks make
ten thousand of them.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

NULL_CLASS = 10
CLASSES = 10


def timestep_features(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of the (possibly fractional) timestep t in 0..999: cos and sin at dim / 2
    frequencies from 1 to 1/1000 per timestep."""
    half = dim // 2
    frequencies = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


class ResidualBlock(nn.Module):
    """GroupNorm, SiLU, 3x3 convolution, twice, with the conditioning's scale and shift after the
    second normalization, and a 1x1 convolution on the skip path when the width changes."""

    def __init__(self, channels_in: int, channels_out: int, condition_dim: int):
        super().__init__()
        self.norm_in = nn.GroupNorm(min(8, channels_in // 4), channels_in)
        self.conv_in = nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.condition = nn.Linear(condition_dim, 2 * channels_out)
        self.norm_out = nn.GroupNorm(min(8, channels_out // 4), channels_out)
        self.conv_out = nn.Conv2d(channels_out, channels_out, 3, padding=1)
        self.skip = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(F.silu(self.norm_in(x)))
        scale, shift = self.condition(condition)[:, :, None, None].chunk(2, dim=1)
        h = self.norm_out(h) * (1 + scale) + shift
        h = self.conv_out(F.silu(h))
        return self.skip(x) + h


class DigitUNet(nn.Module):
    """eps = net(x_t, t, label) for 1 x 16 x 16 images; label NULL_CLASS is "no class"."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64), condition_dim: int = 128):
        super().__init__()
        self.widths = widths
        self.condition_dim = condition_dim
        self.time_mlp = nn.Sequential(nn.Linear(condition_dim, condition_dim), nn.SiLU(),
                                      nn.Linear(condition_dim, condition_dim))
        self.class_embedding = nn.Embedding(CLASSES + 1, condition_dim)
        self.stem = nn.Conv2d(1, widths[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsamplers = nn.ModuleList()
        for level, width in enumerate(widths):
            self.down_blocks.append(ResidualBlock(widths[max(level - 1, 0)], width, condition_dim))
            if level < len(widths) - 1:
                self.downsamplers.append(nn.Conv2d(width, width, 3, stride=2, padding=1))
        self.middle = ResidualBlock(widths[-1], widths[-1], condition_dim)
        self.up_blocks = nn.ModuleList()
        for level in reversed(range(len(widths))):
            below = widths[min(level + 1, len(widths) - 1)]
            self.up_blocks.append(ResidualBlock(below + widths[level], widths[level], condition_dim))
        self.head_norm = nn.GroupNorm(4, widths[0])
        self.head = nn.Conv2d(widths[0], 1, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        condition = F.silu(self.time_mlp(timestep_features(t, self.condition_dim)) + self.class_embedding(label))
        h = self.stem(x)
        skips = []
        for level, block in enumerate(self.down_blocks):
            h = block(h, condition)
            skips.append(h)
            if level < len(self.downsamplers):
                h = self.downsamplers[level](h)
        h = self.middle(h, condition)
        for block in self.up_blocks:
            skip = skips.pop()
            if h.shape[-1] != skip.shape[-1]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), condition)
        return self.head(F.silu(self.head_norm(h)))


class DigitClassifier(nn.Module):
    """A small CNN for 1 x 16 x 16 digits; ``features`` is its 64-wide penultimate layer (the FID's space)."""

    FEATURES = 64

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.SiLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.SiLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.GroupNorm(8, 64), nn.SiLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 4 * 4, self.FEATURES), nn.SiLU())
        self.dropout = nn.Dropout(0.3)
        self.logits = nn.Linear(self.FEATURES, CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(self.dropout(self.features(x)))


class DigitClassifier32(nn.Module):
    """The judge at twice the models' size (iterative mixing's 32 x 32 results): a learned convolution and
    pooling bring the image to 16 x 16, then DigitClassifier's layers; its features see every pixel."""

    FEATURES = DigitClassifier.FEATURES

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.SiLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 1, 1))
        self.judge = DigitClassifier()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge.features(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge.logits(self.judge.dropout(self.features(x)))
