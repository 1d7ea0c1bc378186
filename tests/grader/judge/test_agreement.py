"""Quadratic-weighted kappa and mean offset on hand-made ratings with known answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judge.agreement import (
    AgreementInputError,
    agreement,
    bootstrap_ci,
    mean_offset,
    read_ratings,
    weighted_kappa,
)


def test_perfect_agreement_is_one_and_no_offset() -> None:
    levels = [0.0, 4.0, 7.0, 10.0, 4.0]
    assert weighted_kappa(levels, levels) == pytest.approx(1.0)
    assert mean_offset(levels, levels) == 0.0


def test_kappa_by_hand_on_three_categories() -> None:
    # observed mean squared disagreement (0+1+0+1)/4 = 0.5; both raters' variance 0.6875 and
    # equal means: chance-expected 1.375; kappa = 1 - 0.5/1.375 = 7/11
    assert weighted_kappa([0, 1, 2, 2], [0, 2, 2, 1]) == pytest.approx(7 / 11)


def test_kappa_matches_cohens_quadratic_kappa_on_categories() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    judge = [0, 1, 2, 3, 3, 2, 1, 0, 2, 3, 1, 1]
    human = [0, 2, 2, 3, 2, 2, 0, 1, 3, 3, 1, 0]
    expected = sklearn_metrics.cohen_kappa_score(judge, human, weights="quadratic")
    assert weighted_kappa(judge, human) == pytest.approx(expected)


def test_a_constant_shift_shows_in_offset_and_costs_kappa() -> None:
    human = [0.0, 1.0, 2.0, 3.0]
    judge = [h + 1 for h in human]
    # observed 1; variances 1.25 each, squared mean difference 1: expected 3.5
    assert weighted_kappa(judge, human) == pytest.approx(1 - 1 / 3.5)
    assert mean_offset(judge, human) == pytest.approx(1.0)
    assert bootstrap_ci(judge, human, "offset") == pytest.approx((1.0, 1.0))


def test_reversed_ratings_on_a_0_4_7_10_scale_are_worse_than_chance() -> None:
    judge = [0.0, 4.0, 7.0, 10.0]
    # observed (100+9+9+100)/4 = 54.5; variance 13.6875 each, equal means: expected 27.375
    assert weighted_kappa(judge, judge[::-1]) == pytest.approx(1 - 54.5 / 27.375)


def test_kappa_is_undefined_when_nobody_varies() -> None:
    assert weighted_kappa([4.0, 4.0], [4.0, 4.0]) is None
    assert weighted_kappa([], []) is None
    assert weighted_kappa([0.0], [10.0]) is None  # one item
    assert bootstrap_ci([4.0], [4.0], "kappa") is None


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible() -> None:
    judge = [0, 4, 7, 10, 7, 4, 0, 10, 7, 4, 4, 7]
    human = [0, 4, 4, 10, 7, 7, 4, 7, 7, 4, 0, 10]
    k = weighted_kappa(judge, human)
    ci = bootstrap_ci(judge, human, "kappa", seed=3)
    assert k is not None and ci is not None
    assert ci[0] <= k <= ci[1] and ci[0] < ci[1]
    assert bootstrap_ci(judge, human, "kappa", seed=3) == ci


def test_csv_review_set_uses_the_mean_of_the_humans(tmp_path: Path) -> None:
    f = tmp_path / "reviews.csv"
    f.write_text(
        "task,criterion,submission,rater,score\n"
        "t,c,s1,judge,4\n"
        "t,c,s1,alice,4\n"
        "t,c,s1,bob,7\n"  # consensus 5.5
        "t,c,s2,judge,10\n"
        "t,c,s2,alice,10\n"
        "t,c,s3,alice,0\n"  # no judge score: unpaired
        "t,d,s1,judge,1\n"
        "t,d,s1,bob,1\n",
        encoding="utf-8",
    )
    results = {r.criterion: r for r in agreement(read_ratings(f))}
    c = results["c"]
    assert (c.n, c.unpaired) == (2, 1)
    assert c.offset == pytest.approx(((4 - 5.5) + 0) / 2)
    assert c.kappa == weighted_kappa([4, 10], [5.5, 10])
    assert c.exact == 0.5
    assert results["d"].n == 1 and results["d"].kappa is None and results["d"].kappa_ci is None


def test_json_review_set(tmp_path: Path) -> None:
    f = tmp_path / "reviews.json"
    f.write_text(
        '{"rows": [{"task": "t", "criterion": "c", "submission": "s", "rater": "judge",'
        ' "score": 3}, {"task": "t", "criterion": "c", "submission": "s", "rater": "r1",'
        ' "score": "3"}]}',
        encoding="utf-8",
    )
    (r,) = agreement(read_ratings(f))
    assert r.n == 1 and r.offset == 0.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "task,criterion,submission,score\n", "missing column(s) rater"),
        (
            "a.csv",
            "task,criterion,submission,rater,score\nt,c,s,judge,high\n",
            "row 1: column 'score'",
        ),
        ("a.csv", "task,criterion,submission,rater,score\nt,c,,judge,1\n", "column 'submission'"),
        (
            "a.csv",
            "task,criterion,submission,rater,score\nt,c,s,bob,1\nt,c,s,bob,2\n",
            "row 2: a second score by 'bob'",
        ),
        ("a.json", "[1, 2]", "expected a list of rows"),
        ("a.json", "{", "not JSON"),
        ("a.txt", "", "expected a .csv or .json file"),
    ],
)
def test_bad_review_sets_fail_with_one_line_naming_the_problem(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(AgreementInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_ratings(f)
