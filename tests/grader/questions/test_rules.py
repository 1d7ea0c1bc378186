"""The scoring rules of grader.questions.rules, each against values computed by hand.

Every expected number below is written out with its arithmetic, so a change to a rule's
formula (or to its clipping, flooring or tie handling) fails here with the value that moved.
"""

from __future__ import annotations

import math

import pytest

from grader.questions.model import Band
from grader.questions.rules import (
    brier_binary,
    brier_exclusive,
    exact_set,
    kendall_tau_b,
    log_binary,
    log_exclusive,
    option_credit,
    partial_set,
    rank_credit,
    ranks_of,
    spearman_rho,
    tolerance_credit,
)

approx = pytest.approx

# ------------------------------------------------------------------ single choice


def test_option_credit_exact_key_is_one_for_the_right_option_else_zero() -> None:
    key = {"b": 1.0}  # what key.py builds for rule "exact"
    assert option_credit("b", key) == 1.0
    assert option_credit("a", key) == 0.0


def test_option_credit_partial_credits_and_unlisted_options() -> None:
    key = {"b": 1.0, "a": 0.5, "d": 0.25}
    assert option_credit("b", key) == 1.0
    assert option_credit("a", key) == 0.5
    assert option_credit("d", key) == 0.25
    assert option_credit("c", key) == 0.0  # not listed in the key: 0


# ------------------------------------------------------------------ multiple choice

CORRECT = frozenset({"a", "b", "c"})


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ({"a", "b", "c"}, 1.0),  # (3 - 0) / 3
        ({"a", "b"}, 2 / 3),  # (2 - 0) / 3
        ({"a"}, 1 / 3),  # (1 - 0) / 3
        ({"a", "b", "d"}, 1 / 3),  # (2 - 1) / 3
        ({"a", "b", "c", "d", "e"}, 1 / 3),  # everything: (3 - 2) / 3
        ({"a", "d"}, 0.0),  # (1 - 1) / 3 = 0
        ({"a", "d", "e"}, 0.0),  # (1 - 2) / 3 < 0, floored at 0
        ({"d"}, 0.0),  # (0 - 1) / 3 < 0, floored
        (set(), 0.0),  # (0 - 0) / 3
    ],
)
def test_partial_set(chosen: set[str], expected: float) -> None:
    assert partial_set(frozenset(chosen), CORRECT) == approx(expected)


def test_partial_set_single_correct_option() -> None:
    # correct {x}: choosing {x, y} is (1 - 1) / 1 = 0; {x} is 1
    assert partial_set(frozenset({"x"}), frozenset({"x"})) == 1.0
    assert partial_set(frozenset({"x", "y"}), frozenset({"x"})) == 0.0


def test_partial_set_needs_a_correct_option() -> None:
    with pytest.raises(ValueError, match="at least one correct option"):
        partial_set(frozenset({"a"}), frozenset())


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ({"a", "b", "c"}, 1.0),
        ({"a", "b"}, 0.0),  # a subset is not the set
        ({"a", "b", "c", "d"}, 0.0),  # nor is a superset
        (set(), 0.0),
    ],
)
def test_exact_set(chosen: set[str], expected: float) -> None:
    assert exact_set(frozenset(chosen), CORRECT) == expected


# ------------------------------------------------------------------ rankings

REF = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}  # key order a, b, c, d
# Reference with a tie: order a, [b, c], d -> ranks 1, (2 + 3) / 2 = 2.5, 2.5, 4
REF_TIED = {"a": 1.0, "b": 2.5, "c": 2.5, "d": 4.0}


def test_ranks_of() -> None:
    assert ranks_of(["c", "a", "b"]) == {"c": 1.0, "a": 2.0, "b": 3.0}


def test_spearman_one_adjacent_swap() -> None:
    # answer b, a, c, d -> ranks a=2, b=1, c=3, d=4; d = (1, -1, 0, 0), sum d^2 = 2
    # rho = 1 - 6 * 2 / (4 * (16 - 1)) = 1 - 12/60 = 0.8
    assert spearman_rho(ranks_of(["b", "a", "c", "d"]), REF) == approx(0.8)
    credit, r = rank_credit(["b", "a", "c", "d"], REF, "spearman")
    assert r == approx(0.8)
    assert credit == approx(0.8)  # r_max = 1 without ties


def test_kendall_one_adjacent_swap() -> None:
    # 6 pairs; only (a, b) is discordant: tau = (5 - 1) / 6 = 2/3
    assert kendall_tau_b(ranks_of(["b", "a", "c", "d"]), REF) == approx(2 / 3)
    credit, r = rank_credit(["b", "a", "c", "d"], REF, "kendall")
    assert (credit, r) == approx((2 / 3, 2 / 3))


def test_rank_credit_identity_earns_one() -> None:
    for rule in ("spearman", "kendall"):
        assert rank_credit(["a", "b", "c", "d"], REF, rule) == approx((1.0, 1.0))


def test_rank_credit_reversed_earns_zero_not_negative() -> None:
    # d, c, b, a: sum d^2 = 9 + 1 + 1 + 9 = 20, rho = 1 - 120/60 = -1; tau = (0 - 6)/6 = -1
    for rule in ("spearman", "kendall"):
        credit, r = rank_credit(["d", "c", "b", "a"], REF, rule)
        assert r == approx(-1.0)
        assert credit == 0.0


def test_rank_credit_rotation() -> None:
    # answer b, c, d, a -> ranks a=4, b=1, c=2, d=3; d = (3, -1, -1, -1), sum d^2 = 12
    # rho = 1 - 6 * 12 / 60 = -0.2 -> credit max(0, -0.2) = 0
    credit, r = rank_credit(["b", "c", "d", "a"], REF, "spearman")
    assert r == approx(-0.2)
    assert credit == 0.0
    # Kendall: (a, x) discordant for x in b, c, d; (b,c), (b,d), (c,d) concordant: (3-3)/6 = 0
    credit, r = rank_credit(["b", "c", "d", "a"], REF, "kendall")
    assert r == approx(0.0)
    assert credit == 0.0


def test_spearman_with_a_tied_reference() -> None:
    # answer a, b, c, d: x = (1, 2, 3, 4), y = (1, 2.5, 2.5, 4), both means 2.5
    # dx = (-1.5, -.5, .5, 1.5), dy = (-1.5, 0, 0, 1.5); sxy = 2.25 + 2.25 = 4.5
    # sxx = 5, syy = 4.5; rho = 4.5 / sqrt(22.5) = sqrt(0.9) = 0.948683
    rho = spearman_rho(ranks_of(["a", "b", "c", "d"]), REF_TIED)
    assert rho == approx(math.sqrt(0.9))
    # an order consistent with the key's tie is the best possible: credit 1 (r_max = r)
    assert rank_credit(["a", "b", "c", "d"], REF_TIED, "spearman") == approx((1.0, rho))
    assert rank_credit(["a", "c", "b", "d"], REF_TIED, "spearman") == approx((1.0, rho))
    # answer b, a, c, d: dx = (-.5, -1.5, .5, 1.5): sxy = .75 + 0 + 0 + 2.25 = 3
    # rho = 3 / sqrt(22.5) = 0.632456; credit = 3 / 4.5 = 2/3
    credit, r = rank_credit(["b", "a", "c", "d"], REF_TIED, "spearman")
    assert r == approx(3 / math.sqrt(22.5))
    assert credit == approx(2 / 3)


def test_kendall_tau_b_with_a_tied_reference() -> None:
    # answer a, b, c, d: (b, c) tied in the reference only -> ties_r = 1; the other 5 pairs
    # concordant: tau_b = 5 / sqrt((5 + 0 + 0) * (5 + 0 + 1)) = 5 / sqrt(30) = 0.912871
    tau = kendall_tau_b(ranks_of(["a", "b", "c", "d"]), REF_TIED)
    assert tau == approx(5 / math.sqrt(30))
    assert rank_credit(["a", "b", "c", "d"], REF_TIED, "kendall") == approx((1.0, tau))
    # answer b, a, c, d: (a, b) discordant, (b, c) ties_r, 4 concordant:
    # tau_b = (4 - 1) / sqrt(5 * 6) = 3 / sqrt(30); credit = 3/5
    credit, r = rank_credit(["b", "a", "c", "d"], REF_TIED, "kendall")
    assert r == approx(3 / math.sqrt(30))
    assert credit == approx(0.6)


def test_rank_credit_refuses_an_all_tied_reference() -> None:
    with pytest.raises(ValueError, match="ties every option"):
        rank_credit(["a", "b", "c"], {"a": 2.0, "b": 2.0, "c": 2.0}, "spearman")
    with pytest.raises(ValueError, match="ties every option"):
        rank_credit(["a", "b", "c"], {"a": 2.0, "b": 2.0, "c": 2.0}, "kendall")


# ------------------------------------------------------------------ forecasts: Brier


def test_brier_binary_one_outcome() -> None:
    assert brier_binary({"x": 0.5}, {"x": 1.0}) == approx(0.75)  # 1 - 0.5^2
    assert brier_binary({"x": 0.9}, {"x": 1.0}) == approx(0.99)  # 1 - 0.1^2
    assert brier_binary({"x": 0.9}, {"x": 0.0}) == approx(0.19)  # 1 - 0.9^2
    assert brier_binary({"x": 1.0}, {"x": 1.0}) == 1.0
    assert brier_binary({"x": 0.0}, {"x": 1.0}) == 0.0  # confidently wrong: 1 - 1^2


def test_brier_binary_several_outcomes_is_the_mean() -> None:
    # x: 1 - (0.8 - 1)^2 = 0.96; y: 1 - (0.3 - 0)^2 = 0.91; z: 1 - (0.5 - 1)^2 = 0.75
    # mean = (0.96 + 0.91 + 0.75) / 3 = 2.62 / 3 = 0.873333
    probs = {"x": 0.8, "y": 0.3, "z": 0.5}
    happened = {"x": 1.0, "y": 0.0, "z": 1.0}
    assert brier_binary(probs, happened) == approx(2.62 / 3)


def test_brier_exclusive() -> None:
    happened = {"a": 0.0, "b": 1.0, "c": 0.0}
    # (0.5^2 + 0.7^2 + 0.2^2) / 2 = (0.25 + 0.49 + 0.04) / 2 = 0.39 -> 1 - 0.39 = 0.61
    assert brier_exclusive({"a": 0.5, "b": 0.3, "c": 0.2}, happened) == approx(0.61)
    # all mass on a wrong outcome: (1 + 1 + 0) / 2 = 1 -> 0
    assert brier_exclusive({"a": 1.0, "b": 0.0, "c": 0.0}, happened) == approx(0.0)
    # all mass on the right one: 1
    assert brier_exclusive({"a": 0.0, "b": 1.0, "c": 0.0}, happened) == approx(1.0)
    # uniform over 3: ((1/3)^2 + (2/3)^2 + (1/3)^2) / 2 = (6/9) / 2 = 1/3 -> 2/3
    third = 1 / 3
    assert brier_exclusive({"a": third, "b": third, "c": third}, happened) == approx(2 / 3)


# ------------------------------------------------------------------ forecasts: log score

# log_binary with clip c: (ln q - ln c) / (ln(1 - c) - ln c), q = prob given to what happened.
# For q = 0.5, c = 0.01: (ln 0.5 - ln 0.01) / (ln 0.99 - ln 0.01) = ln 50 / ln 99 = 0.851342
HALF_C01 = math.log(50) / math.log(99)


def test_log_binary_one_outcome() -> None:
    assert log_binary({"x": 0.5}, {"x": 1.0}, 0.01) == approx(HALF_C01)
    assert log_binary({"x": 0.5}, {"x": 1.0}, 0.01) == approx(0.851342, abs=1e-6)
    # clip 0.1: ln(0.5/0.1) / ln(0.9/0.1) = ln 5 / ln 9 = 0.732487
    assert log_binary({"x": 0.5}, {"x": 0.0}, 0.1) == approx(math.log(5) / math.log(9))
    # q = 0.9 with clip 0.1 is the top of the clip range: 1
    assert log_binary({"x": 0.9}, {"x": 1.0}, 0.1) == approx(1.0)
    # p = 0.8, did not happen: q = 0.2 -> ln(0.2/0.1) / ln 9 = ln 2 / ln 9 = 0.315465
    assert log_binary({"x": 0.8}, {"x": 0.0}, 0.1) == approx(math.log(2) / math.log(9))


def test_log_binary_clips_zero_and_one_so_nothing_is_infinite() -> None:
    # p = 1 that happened: clipped to 0.99 -> (ln .99 - ln .01)/(ln .99 - ln .01) = 1
    assert log_binary({"x": 1.0}, {"x": 1.0}, 0.01) == approx(1.0)
    # p = 0 that happened: clipped to 0.01 -> 0, not -inf
    wrong = log_binary({"x": 0.0}, {"x": 1.0}, 0.01)
    assert math.isfinite(wrong)
    assert wrong == approx(0.0)
    # p = 1 that did not happen: q = 1 - 0.99 = 0.01 -> 0
    assert log_binary({"x": 1.0}, {"x": 0.0}, 0.01) == approx(0.0)
    # p = 0 that did not happen: q = 0.99 -> 1
    assert log_binary({"x": 0.0}, {"x": 0.0}, 0.01) == approx(1.0)
    # inside the clip range nothing is clipped: 0.005 and 0.01 earn the same (both at c)
    assert log_binary({"x": 0.005}, {"x": 1.0}, 0.01) == approx(0.0)


def test_log_binary_several_outcomes_is_the_mean() -> None:
    # x: p 0.5, happened -> ln 50 / ln 99 = 0.851342
    # y: p 1.0, did not happen -> clipped, q = 0.01 -> 0
    # z: p 0.0, did not happen -> q = 0.99 -> 1
    # mean = (0.851342 + 0 + 1) / 3 = 0.617114
    probs = {"x": 0.5, "y": 1.0, "z": 0.0}
    happened = {"x": 1.0, "y": 0.0, "z": 0.0}
    assert log_binary(probs, happened, 0.01) == approx((HALF_C01 + 1.0) / 3)


def test_log_exclusive() -> None:
    happened = {"a": 0.0, "b": 1.0, "c": 0.0}
    # 1 - ln(p_b) / ln(clip): p_b = 0.1, clip 0.01 -> 1 - ln 0.1 / ln 0.01 = 1 - 1/2 = 0.5
    assert log_exclusive({"a": 0.45, "b": 0.1, "c": 0.45}, happened, 0.01) == approx(0.5)
    # p_b = 0.5 -> 1 - ln 0.5 / ln 0.01 = 1 - 0.693147 / 4.605170 = 0.849485
    assert log_exclusive({"a": 0.25, "b": 0.5, "c": 0.25}, happened, 0.01) == approx(
        1 - math.log(0.5) / math.log(0.01)
    )
    # p_b = 1 -> 1 - 0 = 1
    assert log_exclusive({"a": 0.0, "b": 1.0, "c": 0.0}, happened, 0.01) == approx(1.0)


def test_log_exclusive_clips_zero_so_nothing_is_infinite() -> None:
    happened = {"a": 0.0, "b": 1.0}
    # p_b = 0: max(0, 0.01) = 0.01 -> 1 - ln 0.01 / ln 0.01 = 0, not -inf
    score = log_exclusive({"a": 1.0, "b": 0.0}, happened, 0.01)
    assert math.isfinite(score)
    assert score == approx(0.0)
    # p_b = 0.001 is below the clip: also 0
    assert log_exclusive({"a": 0.999, "b": 0.001}, happened, 0.01) == approx(0.0)


# ------------------------------------------------------------------ numbers

BANDS = (Band(within=1.0, credit=1.0), Band(within=3.0, credit=0.5))


@pytest.mark.parametrize(
    ("answer", "credit", "distance"),
    [
        (10.0, 1.0, 0.0),
        (10.5, 1.0, 0.5),  # |10.5 - 10| = 0.5 <= 1
        (11.0, 1.0, 1.0),  # on the narrow band's edge: inclusive
        (12.0, 0.5, 2.0),  # 1 < 2 <= 3
        (7.0, 0.5, 3.0),  # below the key, on the wide band's edge
        (13.5, 0.0, 3.5),  # outside every band
        (-10.0, 0.0, 20.0),
    ],
)
def test_tolerance_absolute(answer: float, credit: float, distance: float) -> None:
    got_credit, got_distance = tolerance_credit(answer, 10.0, BANDS, relative=False)
    assert got_credit == credit
    assert got_distance == approx(distance)


@pytest.mark.parametrize(
    ("answer", "credit", "distance"),
    [
        (-21.0, 1.0, 0.05),  # |-21 + 20| / |-20| = 1/20 = 0.05 (edge of the 5% band)
        (-19.5, 1.0, 0.025),  # 0.5 / 20
        (-24.0, 0.4, 0.2),  # 4 / 20 = 0.2 (edge of the 20% band)
        (-16.0, 0.4, 0.2),
        (-25.0, 0.0, 0.25),  # 5 / 20
    ],
)
def test_tolerance_relative(answer: float, credit: float, distance: float) -> None:
    bands = (Band(within=0.05, credit=1.0), Band(within=0.2, credit=0.4))
    got_credit, got_distance = tolerance_credit(answer, -20.0, bands, relative=True)
    assert got_credit == credit
    assert got_distance == approx(distance)
