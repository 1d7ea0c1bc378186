"""Linear probe for the planted red/blue feature.

Layer sweep (fit on data/train.npz, accuracy on data/val.npz): layer 0 0.51, layer 1 0.54,
layer 2 1.00, so the answer is only linearly readable after the second block.

The probe is a linear regression of the +/-1 label on the activations (plus an intercept),
solved in closed form with least squares: no learning rate or iteration count to tune, exact
and fast, and the sign of the fitted value is the prediction.
"""

from __future__ import annotations

import numpy as np

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    x = np.hstack([acts.astype(np.float64), np.ones((len(acts), 1))])
    target = np.where(labels == 1, 1.0, -1.0)
    coef, *_ = np.linalg.lstsq(x, target, rcond=None)
    return coef[:-1].astype(np.float32), float(coef[-1])
