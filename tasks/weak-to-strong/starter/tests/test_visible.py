"""Visible checks: train_student keeps the contract on the practice problem (public data).

They check the format and report the practice PGR; they do not check that it is good.
Run: python -m pytest -q tests
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import w2s_tools  # noqa: E402
from train_student import train_student  # noqa: E402


def test_predict_has_the_right_shape_and_range() -> None:
    p = w2s_tools.load("practice")
    predict = train_student(p["train_x"][:500].copy(), p["train_weak_prob"][:500].copy(), 0)
    out = np.asarray(predict(p["test_x"][:300].copy()), dtype=np.float64).reshape(-1)
    assert out.shape == (300,)
    assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))


def test_problem_a_trains() -> None:
    a = w2s_tools.load("problem_a")
    predict = train_student(a["train_x"].copy(), a["train_weak_prob"].copy(), 1)
    out = np.asarray(predict(a["train_x"][:100].copy()), dtype=np.float64).reshape(-1)
    assert out.shape == (100,) and np.all(np.isfinite(out))


def test_practice_pgr_is_reported() -> None:
    r = w2s_tools.evaluate(train_student)
    print(f"practice PGR {r['pgr']:.3f} (student {r['student']:.4f}, weak {r['weak']:.4f})")
    assert np.isfinite(r["pgr"])


def test_writeup_exists() -> None:
    assert (KIT / "writeup.md").is_file()
