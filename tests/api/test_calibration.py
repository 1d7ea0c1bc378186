"""Reviewer calibration statistics on hand-made ratings with known answers."""

from __future__ import annotations

import math

import pytest

from api.calibration import Calibration, Rating, calibrate


def _pairs(offsets: list[float], x: int = 1, y: int = 2) -> dict[int, list[Rating]]:
    """Submissions reviewed by `x` and `y`, where x scores `d` above y on each."""
    return {i: [Rating(x, 0.5 + d, None), Rating(y, 0.5, None)] for i, d in enumerate(offsets, 1)}


def _of(stats: list[Calibration], rid: int) -> Calibration:
    return next(c for c in stats if c.reviewer_id == rid)


def test_leave_one_out_offsets_with_three_reviewers() -> None:
    stats = calibrate(
        {
            1: [Rating(1, 0.9, "Meets"), Rating(2, 0.6, "Meets"), Rating(3, 0.3, "Below")],
            2: [Rating(1, 0.5, "Near"), Rating(2, 0.5, "Near")],
            3: [Rating(3, 1.0, "Exceeds")],  # one review: no consensus to compare with
        }
    )
    a, b, c = (_of(stats, r) for r in (1, 2, 3))
    assert a.n == 2 and a.mean_offset == pytest.approx((0.45 + 0.0) / 2)
    assert b.n == 2 and b.mean_offset == pytest.approx(0.0)
    assert c.n == 1 and c.mean_offset == pytest.approx(-0.45) and c.std_error is None
    assert a.mean_abs_offset == pytest.approx(0.225)
    # Tiers: a's Meets ties for the others' mode (Meets, Below): agreement; c's Below is not
    # the others' mode (Meets twice).
    assert (a.agreement, a.compared_tiers) == (1.0, 2)
    assert (b.agreement, b.compared_tiers) == (1.0, 2)
    assert (c.agreement, c.compared_tiers) == (0.0, 1)
    assert not any(s.outlier for s in stats)


def test_mean_absolute_offset_and_standard_error() -> None:
    x = _of(calibrate(_pairs([0.2, -0.1, 0.3, -0.2])), 1)
    assert x.mean_offset == pytest.approx(0.05)
    assert x.mean_abs_offset == pytest.approx(0.2)
    deviations = [0.15, -0.15, 0.25, -0.25]
    sd = math.sqrt(sum(d * d for d in deviations) / 3)
    assert x.std_error == pytest.approx(sd / 2)


def test_a_steady_harsh_reviewer_is_an_outlier_a_noisy_one_is_not() -> None:
    steady = calibrate(_pairs([-0.2, -0.2, -0.21, -0.19, -0.2]))
    assert _of(steady, 1).outlier and _of(steady, 2).outlier  # both sides of the pair
    # Large mean but spread wide: 0.26 against two standard errors of 0.294.
    noisy = _of(calibrate(_pairs([0.5, -0.1, 0.5, -0.1, 0.5])), 1)
    assert noisy.mean_offset == pytest.approx(0.26)
    assert noisy.std_error is not None and 2 * noisy.std_error == pytest.approx(0.2939, abs=1e-4)
    assert not noisy.outlier


def test_small_or_slight_offsets_are_not_outliers() -> None:
    assert not _of(calibrate(_pairs([0.3] * 4)), 1).outlier  # n < 5
    assert not _of(calibrate(_pairs([0.08, 0.09, 0.08, 0.09, 0.08])), 1).outlier  # < 0.1
    assert _of(calibrate(_pairs([0.3] * 5)), 1).outlier


def test_a_review_without_scores_counts_for_tiers_only() -> None:
    stats = calibrate({1: [Rating(1, None, "Meets"), Rating(2, 0.4, "Meets")]})
    assert _of(stats, 1).n == 0 and _of(stats, 1).agreement == 1.0
    assert _of(stats, 2).n == 0  # its only other review scored nothing
