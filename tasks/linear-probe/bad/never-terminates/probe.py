"""Known-bad: fit() never returns; the run phase must be stopped by its wall-time limit."""

import numpy as np

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    while True:
        pass
