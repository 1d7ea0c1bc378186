"""Known-bad: normalises over axis 0 (the batch axis) instead of the last axis.

Right for 1-D inputs, where the two coincide, and wrong for every batch: the classic
"which axis?" slip, like an off-by-one.
"""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=0)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=0)
