"""Linear probe: LAYER and fit() for the grader; the training code lives in probing.py.

Layer choice (probe trained on data/train.npz, accuracy on data/val.npz):
layer 0 0.51, layer 1 0.55, layer 2 1.00. Layer 2 is the residual stream after both blocks.
"""

from __future__ import annotations

import numpy as np
from probing import train_linear_probe

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    weight, bias = train_linear_probe(acts, labels)
    return weight.astype(np.float32), bias
