"""Reference solution: must earn full marks (`assess task validate` checks it)."""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, stable for any finite logits.

    Subtracting each row's maximum leaves the result unchanged (softmax is shift-invariant)
    and keeps every exponent <= 0, so exp() cannot overflow and each row's sum is >= 1.
    """
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=-1, keepdims=True)
