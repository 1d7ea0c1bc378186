"""Known-bad: fit() raises, so no probe is written."""

import numpy as np

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    raise RuntimeError("not implemented yet")
