"""Tools for the weak-to-strong task: loading the data, a plain logistic head, and scoring.

    python w2s_tools.py          # run train_student.py on the practice problem, print its PGR

Everything here is numpy only. The grader measures the same quantities on the hidden problems
(see instructions.md): accuracy = share of test points whose predicted probability of class 1
is on the right side of 0.5, and PGR = (student - weak) / (ceiling - weak).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEEDS = (0, 1, 2)


def load(name: str) -> dict[str, np.ndarray]:
    """A problem of data/ as a dict of arrays (``practice`` or ``problem_a``)."""
    with np.load(HERE / "data" / f"{name}.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def sigmoid(u: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(u, -50.0, 50.0)))


def fit_logistic(
    x: np.ndarray, target: np.ndarray, steps: int = 500, lr: float = 0.05, l2: float = 0.0
) -> tuple[np.ndarray, float]:
    """A linear (logistic) head fitted by full-batch Adam on soft or hard targets in [0, 1].

    Starts from zero, so it is deterministic. Returns (w, b): p(class 1) = sigmoid(x @ w + b).
    The ceiling of each problem is this head fitted on the true labels of its training split.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    n, d = x.shape
    w = np.zeros(d)
    b = 0.0
    mw, vw, mb, vb = np.zeros(d), np.zeros(d), 0.0, 0.0
    for s in range(1, steps + 1):
        g = sigmoid(x @ w + b) - t
        gw = x.T @ g / n + l2 * w
        gb = float(g.mean())
        mw = 0.9 * mw + 0.1 * gw
        vw = 0.999 * vw + 0.001 * gw**2
        mb = 0.9 * mb + 0.1 * gb
        vb = 0.999 * vb + 0.001 * gb**2
        c1, c2 = 1 - 0.9**s, 1 - 0.999**s
        w -= lr * (mw / c1) / (np.sqrt(vw / c2) + 1e-8)
        b -= lr * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
    return w, b


def accuracy(prob: np.ndarray, labels: np.ndarray) -> float:
    """Share of points with (prob > 0.5) == label; NaN or missing probabilities count wrong."""
    prob = np.asarray(prob, dtype=np.float64)
    pred = np.where(np.isfinite(prob), prob > 0.5, -1)
    return float(np.mean(pred == np.asarray(labels)))


def pgr(student: float, weak: float, ceiling: float) -> float:
    """Performance gap recovered: 0 = no better than the weak supervisor, 1 = the ceiling."""
    return (student - weak) / (ceiling - weak)


def evaluate(train_student, name: str = "practice", seeds=SEEDS) -> dict[str, float]:
    """Run `train_student` on a problem with known labels (the practice problem) as the grader
    does: once per seed, predict the test split, accuracy averaged over seeds; then PGR."""
    p = load(name)
    weak = accuracy(p["test_weak_prob"], p["test_y"])
    w, b = fit_logistic(p["train_x"], p["train_y"])
    ceiling = accuracy(sigmoid(p["test_x"] @ w + b), p["test_y"])
    accs = []
    for seed in seeds:
        predict = train_student(p["train_x"].copy(), p["train_weak_prob"].copy(), seed)
        prob = np.asarray(predict(p["test_x"].copy()), dtype=np.float64).reshape(-1)
        if prob.shape != (len(p["test_y"]),):
            raise ValueError(f"predict returned {prob.shape}, expected ({len(p['test_y'])},)")
        accs.append(accuracy(prob, p["test_y"]))
    student = float(np.mean(accs))
    return {
        "weak": weak,
        "ceiling": ceiling,
        "student": student,
        "student_per_seed": accs,
        "pgr": pgr(student, weak, ceiling),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path.cwd()))
    from train_student import train_student

    t0 = time.process_time()
    r = evaluate(train_student)
    print(
        f"practice: weak {r['weak']:.4f}  ceiling {r['ceiling']:.4f}  student {r['student']:.4f}"
        f" (seeds {', '.join(f'{a:.4f}' for a in r['student_per_seed'])})  PGR {r['pgr']:.3f}"
        f"  [{time.process_time() - t0:.1f} CPU-s]"
    )
