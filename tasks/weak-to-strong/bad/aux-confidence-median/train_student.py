"""Auxiliary confidence loss (Burns et al. 2023): the target mixes the weak label with the
student's own hardened prediction (threshold: the median), alpha ramped up to 0.75."""

from __future__ import annotations

import numpy as np
from w2s_tools import sigmoid


def train_student(features, weak_prob, seed, steps=1000, lr=0.05, alpha=0.75, warm=0.2):
    x = np.asarray(features, dtype=np.float64)
    t = np.asarray(weak_prob, dtype=np.float64)
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    mw, vw, mb, vb = np.zeros(d), np.zeros(d), 0.0, 0.0
    for s in range(1, steps + 1):
        p = sigmoid(x @ w + b)
        a = alpha * min(1.0, s / (warm * steps))
        hard = (p > np.median(p)).astype(np.float64)
        g = p - ((1 - a) * t + a * hard)
        gw, gb = x.T @ g / n, g.mean()
        mw, vw = 0.9 * mw + 0.1 * gw, 0.999 * vw + 0.001 * gw**2
        mb, vb = 0.9 * mb + 0.1 * gb, 0.999 * vb + 0.001 * gb**2
        c1, c2 = 1 - 0.9**s, 1 - 0.999**s
        w -= lr * (mw / c1) / (np.sqrt(vw / c2) + 1e-8)
        b -= lr * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
    return lambda z: sigmoid(np.asarray(z, dtype=np.float64) @ w + b)
