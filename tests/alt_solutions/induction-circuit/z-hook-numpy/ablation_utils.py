"""Helpers: per-head ablation through the `z` hook and numpy bookkeeping of the positions."""

from __future__ import annotations

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view


def induction_index(tokens: np.ndarray, mask: np.ndarray):
    """Flat indices of the induction positions: (sequence, position, earlier-copy key)."""
    seq, pos, key = [], [], []
    for i, row in enumerate(mask):
        where = np.flatnonzero(row)
        start2, length = int(where[0]), len(where) + 1
        segment = tokens[i, start2 : start2 + length]
        windows = sliding_window_view(tokens[i], length)
        start1 = int(np.flatnonzero((windows == segment).all(axis=1))[0])  # first copy
        seq.append(np.full(len(where), i))
        pos.append(where)
        key.append(where - start2 + start1 + 1)
    return np.concatenate(seq), np.concatenate(pos), np.concatenate(key)


def zero_z(head: int):
    """Hook for `L{l}.z` [B, H, T, d_head]: head `head` gets z = 0, so it writes nothing."""

    def hook(z: torch.Tensor) -> torch.Tensor:
        keep = torch.ones(z.shape[1], dtype=z.dtype)
        keep[head] = 0.0
        return z * keep[None, :, None, None]

    return hook


def nll_and_hits(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-position cross-entropy (nats, float64) and top-1 hits; logits [N, vocab]."""
    x = logits.astype(np.float64)
    x = x - x.max(axis=1, keepdims=True)
    logz = np.log(np.exp(x).sum(axis=1))
    nll = logz - x[np.arange(len(x)), targets]
    return nll, logits.argmax(axis=1) == targets
