"""Your solution: implement `softmax` below. See instructions.md.

Only numpy (and the Python standard library) is needed. Keep the function's name and
signature: the grader imports `solution.softmax` and calls it on hidden inputs.
"""

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of `logits`.

    Args:
        logits: a float64 array of any shape with at least one dimension.

    Returns:
        An array of the same shape whose entries along the last axis are probabilities
        (non-negative, summing to 1). It must stay correct for very large or very
        negative logits (e.g. 1000 or -1000).
    """
    raise NotImplementedError("implement softmax")
