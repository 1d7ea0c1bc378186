"""The network and the data for the training-bugs task.

This file is NOT part of the bug hunt: it is correct as shipped, and the grader always uses
its own copy of it (edits you make here are ignored when your submission is graded). Import
it from train.py; do not change the architecture.

- `DigitsNet`: a small MLP with batch norm and dropout that classifies scikit-learn's 8x8
  handwritten digits (64 pixels with values 0..16, 10 classes). It normalises its own input:
  the per-pixel `mean` and `std` are buffers of the model (saved with its weights), set with
  `set_normalization` and applied first thing in `forward`.
- `pixel_stats(x)`: the per-pixel mean and (floored) standard deviation of a set of images.
- `load_digits_tensors()`: all 1,797 images and labels, in scikit-learn's order; a split is a
  list of row indices into these tensors.
"""

from __future__ import annotations

import torch
from torch import nn

N_PIXELS = 64
N_CLASSES = 10
# Some border pixels are (almost) always 0: their standard deviation is floored so that
# normalisation never divides by ~0.
STD_FLOOR = 1.0


class DigitsNet(nn.Module):
    """64 -> hidden -> hidden -> 10: Linear, BatchNorm1d, ReLU, Dropout twice, then a head."""

    def __init__(self, hidden: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(N_PIXELS))
        self.register_buffer("std", torch.ones(N_PIXELS))
        self.fc1 = nn.Linear(N_PIXELS, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, N_CLASSES)

    @torch.no_grad()
    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the per-pixel statistics that `forward` normalises with."""
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(N_PIXELS))
        self.std.copy_(torch.as_tensor(std, dtype=torch.float32).reshape(N_PIXELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw pixels [batch, 64] (values 0..16) -> logits [batch, 10]."""
        x = (x - self.mean) / self.std
        x = self.drop(torch.relu(self.bn1(self.fc1(x))))
        x = self.drop(torch.relu(self.bn2(self.fc2(x))))
        return self.head(x)


def pixel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel mean and population standard deviation (floored at STD_FLOOR) of images x."""
    x = torch.as_tensor(x, dtype=torch.float32)
    mean = x.mean(dim=0)
    std = x.std(dim=0, unbiased=False).clamp_min(STD_FLOOR)
    return mean, std


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 digits: images float32 [1797, 64] (raw values 0..16), labels int64 [1797]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.int64)
    return x, y
