"""Reviewer calibration on one task: how each reviewer's scores sit against the others'.

Over every submission of the task with at least two reviews, for each reviewer of it:

* **offset**: the reviewer's rubric total as a fraction of the rubric's maximum, minus the
  mean fraction of the *other* reviewers of that submission (leave-one-out consensus);
* **mean offset** and **mean absolute offset** over those submissions, and **n**;
* **agreement**: the share of those submissions where the reviewer's tier equals the others'
  modal tier exactly (a tie between modes counts as agreement when the reviewer chose one of
  them); only submissions where the reviewer and at least one other chose a tier count;
* **outlier** (flagged for operators): n >= 5, |mean offset| >= 0.1 of the rubric maximum,
  and |mean offset| more than two standard errors (sample standard deviation / sqrt n)
  from 0.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Review, Submission, TaskRow, User

MIN_N = 5
MIN_OFFSET = 0.1
SE_FACTOR = 2.0
RULE = (
    f"Outlier: at least {MIN_N} submissions shared with other reviewers, a mean offset of at "
    f"least {MIN_OFFSET:.0%} of the rubric maximum, and more than {SE_FACTOR:g} standard "
    "errors from zero."
)


@dataclass(frozen=True)
class Rating:
    """One review, as calibration reads it."""

    reviewer_id: int
    frac: float | None  # rubric total / rubric max; None for a review that scored nothing
    tier: str | None


@dataclass(frozen=True)
class Calibration:
    reviewer_id: int
    n: int  # submissions with an offset (both this reviewer and another scored the rubric)
    mean_offset: float
    mean_abs_offset: float
    std_error: float | None  # None with n < 2
    agreement: float | None  # None when no tier could be compared
    compared_tiers: int
    outlier: bool


def calibrate(by_submission: Mapping[int, Sequence[Rating]]) -> list[Calibration]:
    """Per reviewer statistics from each submission's ratings (see the module docstring)."""
    offsets: dict[int, list[float]] = defaultdict(list)
    agree: dict[int, list[bool]] = defaultdict(list)
    for ratings in by_submission.values():
        if len(ratings) < 2:
            continue
        for i, mine in enumerate(ratings):
            others = [r for j, r in enumerate(ratings) if j != i]
            scored = [r.frac for r in others if r.frac is not None]
            if mine.frac is not None and scored:
                offsets[mine.reviewer_id].append(mine.frac - statistics.fmean(scored))
            tiers = Counter(r.tier for r in others if r.tier is not None)
            if mine.tier is not None and tiers:
                top = max(tiers.values())
                agree[mine.reviewer_id].append(tiers.get(mine.tier, 0) == top)
    out = []
    for rid in sorted(offsets.keys() | agree.keys()):
        values = offsets.get(rid, [])
        n = len(values)
        mean = statistics.fmean(values) if values else 0.0
        se = statistics.stdev(values) / math.sqrt(n) if n >= 2 else None
        outlier = (
            n >= MIN_N and abs(mean) >= MIN_OFFSET and se is not None and abs(mean) > SE_FACTOR * se
        )
        matches = agree.get(rid, [])
        out.append(
            Calibration(
                reviewer_id=rid,
                n=n,
                mean_offset=mean,
                mean_abs_offset=statistics.fmean(abs(v) for v in values) if values else 0.0,
                std_error=se,
                agreement=sum(matches) / len(matches) if matches else None,
                compared_tiers=len(matches),
                outlier=outlier,
            )
        )
    return out


def task_calibration(db: Session, task: TaskRow) -> list[tuple[User, Calibration]]:
    """Every reviewer's calibration on `task` (all of its submissions, superseded ones too:
    a review of an earlier upload still shows how that reviewer scores)."""
    rubric_max = task.rubric_max
    if rubric_max <= 0:
        return []
    by_sub: dict[int, list[Rating]] = defaultdict(list)
    for sid, rid, scores, total, tier in db.execute(
        select(Review.submission_id, Review.reviewer_id, Review.scores, Review.total, Review.tier)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.task_id == task.id)
        .order_by(Review.submission_id, Review.reviewer_id)
    ):
        # A review without rubric scores (a tier only) says nothing of the reviewer's scale.
        by_sub[sid].append(Rating(rid, total / rubric_max if scores else None, tier))
    stats = calibrate(by_sub)
    users = {
        u.id: u for u in db.scalars(select(User).where(User.id.in_([c.reviewer_id for c in stats])))
    }
    return [(users[c.reviewer_id], c) for c in stats]
