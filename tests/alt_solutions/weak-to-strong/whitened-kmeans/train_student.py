"""Cluster first; the weak labels only seed and name the two clusters.

The strong embedding holds the class as a bimodal direction with a low-density gap; the weak
supervisor's errors are a tilted hyperplane through both classes. After whitening (so that the
large nuisance directions no longer dominate the Euclidean distance), the split that reduces the
within-cluster variance most is the split across the gap, so 2-means (scikit-learn) recovers the
classes. The weak labels only seed the two centroids (the means of the two weak classes) and
name the clusters (class 1 is the one with the higher mean weak probability); after that the
partition is decided by the geometry of the embedding, not by the labels. A logistic head
(w2s_tools.fit_logistic) is then fitted to the cluster labels so that predict returns a smooth
probability and generalises to the test points.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.cluster import KMeans
from w2s_tools import fit_logistic, sigmoid


def _whiten(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    return centred @ (evecs / np.sqrt(evals + 1e-6))


def train_student(
    features: np.ndarray, weak_prob: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    x = np.asarray(features, dtype=np.float64)
    weak = np.clip(np.asarray(weak_prob, dtype=np.float64), 0.0, 1.0)
    z = _whiten(x)
    # Random restarts of 2-means can settle on a split along a nuisance direction (a local
    # optimum); start instead from the centroids of the two weak classes, which already lie on
    # either side of the gap, and let Lloyd's iterations move them to the cluster centres.
    hard = weak > 0.5
    start = np.stack([z[~hard].mean(axis=0), z[hard].mean(axis=0)])
    clusters = KMeans(n_clusters=2, init=start, n_init=1, random_state=seed).fit(z).labels_
    # Name the clusters: the weak labels are right on most points, so class 1 is the cluster
    # the supervisor calls positive more often.
    if weak[clusters == 1].mean() < weak[clusters == 0].mean():
        clusters = 1 - clusters
    w, b = fit_logistic(x, clusters.astype(np.float64))

    def predict(z: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(z, dtype=np.float64) @ w + b)

    return predict
