"""Your submission: a linear probe for the planted feature.

Edit LAYER and fit(). The grader imports this file, computes residual-stream activations at
LAYER on the public training sequences (data/train.npz) with model.residual_stream, calls
fit(acts, labels), and then scores the probe you return on held-out sequences you never see.
"""

from __future__ import annotations

import numpy as np

# Which residual-stream layer to probe: 0 = embeddings, i = after block i (see model.py).
LAYER = 0


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Train a linear probe.

    Args:
        acts: float32 [n, d_model], the residual stream at layer LAYER at each sequence's
            ``?`` token.
        labels: int64 [n], 1 if the token right after the marker is red, else 0.

    Returns:
        (weight, bias): weight is a float array of shape [d_model], bias a float. The probe
        predicts label 1 where ``acts @ weight + bias > 0``.
    """
    return np.zeros(acts.shape[1], dtype=np.float32), 0.0
