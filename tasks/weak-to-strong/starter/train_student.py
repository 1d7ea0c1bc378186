"""Your submission: train the strong student from the weak supervisor's labels.

The grader calls ``train_student(features, weak_prob, seed)`` once per seed (0, 1, 2) on each
hidden problem, then calls the returned function on that problem's test features. See
instructions.md for the contract and how it is scored; ``python w2s_tools.py`` evaluates this
file on the practice problem.

This starting point is the naive baseline: a linear head fitted to the weak labels. It
imitates the weak supervisor's mistakes (PGR about 0.1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from w2s_tools import fit_logistic, sigmoid


def train_student(
    features: np.ndarray, weak_prob: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Train on (features [n, 16] float32, weak_prob [n] in [0, 1]); return predict, a
    function from features [m, 16] to the probability of class 1 for each row, shape [m]."""
    w, b = fit_logistic(features, weak_prob)

    def predict(x: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(x, dtype=np.float64) @ w + b)

    return predict
