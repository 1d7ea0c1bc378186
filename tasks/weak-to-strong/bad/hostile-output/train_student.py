"""Hostile outputs, a different one for each call."""

from __future__ import annotations

import numpy as np

CALLS = {"n": 0}


def train_student(features, weak_prob, seed):
    CALLS["n"] += 1
    call = CALLS["n"]
    if call == 6:
        raise RuntimeError("boom\n" * 1000)

    def predict(z):
        m = len(z)
        if call == 1:
            return np.full(m, np.nan)
        if call == 2:
            out = np.full(m, np.inf)
            out[::2] = 7.0
            return out
        if call == 3:
            return ["yes"] * m
        if call == 4:
            return np.ones(m + 1)
        return np.zeros((m, 1000))

    return predict
