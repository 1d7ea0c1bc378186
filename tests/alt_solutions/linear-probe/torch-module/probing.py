"""Probe training in PyTorch: a single linear unit trained with binary cross-entropy."""

from __future__ import annotations

import numpy as np
import torch


def train_linear_probe(
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 300,
    lr: float = 0.01,
    weight_decay: float = 1e-2,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Adam on a standardised copy of x; returns (weight, bias) in the raw coordinates."""
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32)
    mean, std = xt.mean(0), xt.std(0) + 1e-6
    z = (xt - mean) / std
    head = torch.nn.Linear(z.shape[1], 1)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(z).squeeze(1), yt)
        loss.backward()
        opt.step()
    with torch.no_grad():
        w = head.weight[0] / std
        b = head.bias[0] - w @ mean
    return w.numpy().astype(np.float64), float(b)
