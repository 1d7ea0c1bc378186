"""Known-bad: the textbook formula without the max shift.

Correct for ordinary logits; exp(1000) overflows to inf (inf/inf = NaN) and exp(-1000)
underflows to 0 (0/0 = NaN), so the stability cases fail. A common first attempt.
"""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    exps = np.exp(logits)
    return exps / exps.sum(axis=-1, keepdims=True)
