"""The weak labels are the best labels we have: look them up (1-nearest neighbour)."""

from __future__ import annotations

import numpy as np


def train_student(features, weak_prob, seed):
    x = np.asarray(features, dtype=np.float64)
    t = np.asarray(weak_prob, dtype=np.float64)

    def predict(z):
        z = np.asarray(z, dtype=np.float64)
        out = []
        for i in range(0, len(z), 500):
            d = ((z[i : i + 500, None, :] - x[None]) ** 2).sum(-1)
            out.append(t[d.argmin(1)])
        return np.concatenate(out)

    return predict
