"""Difference-of-means probe on the residual stream after block 2.

How I chose the layer (data/train.npz to fit, data/val.npz to score, this same probe):

    layer 0: 0.51    layer 1: 0.51    layer 2: 1.00

The colour of the marker's follower needs two attention hops (find the marker, read the token
after it), so it can only be present after the second block; layers 0 and 1 sit at chance.

The probe direction is the difference between the mean activation of "red" and "blue"
sequences, and the threshold sits halfway between the two class means along that direction.
No fitting loop: the direction is where the classes actually differ, which keeps the margin
large (it does not lean on directions in which the activations hardly vary).
"""

from __future__ import annotations

import numpy as np

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    x = acts.astype(np.float64)
    red = x[labels == 1].mean(axis=0)
    blue = x[labels == 0].mean(axis=0)
    direction = red - blue
    midpoint = (red + blue) / 2.0
    # Scale so that the two class means sit at -1 and +1 (only the sign is scored).
    scale = 2.0 / float(direction @ direction)
    weight = direction * scale
    return weight.astype(np.float32), float(-weight @ midpoint)
