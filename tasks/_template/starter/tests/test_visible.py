"""Visible checks: a few public cases you can run yourself.

    assess check                 # inside the unpacked kit: submission rules + these tests
    python -m pytest -q tests    # the same tests, without the submission-rule check

Passing them is a good sign, not a score: the grader runs other, hidden cases (see
instructions.md for what they cover).
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the kit folder

from solution import softmax


def test_simple_vector() -> None:
    got = softmax(np.array([1.0, 2.0, 3.0]))
    want = np.array([0.09003057317038046, 0.24472847105479767, 0.6652409557748219])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_rows_of_a_batch_each_sum_to_one() -> None:
    x = np.arange(6.0).reshape(2, 3)
    got = softmax(x)
    assert got.shape == x.shape
    np.testing.assert_allclose(got.sum(axis=-1), [1.0, 1.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[0], got[1], rtol=0, atol=1e-12)  # shift-invariance


def test_large_logits_stay_finite() -> None:
    got = softmax(np.array([1000.0, 1001.0]))
    np.testing.assert_allclose(got, [0.2689414213699951, 0.7310585786300049], rtol=0, atol=1e-9)
