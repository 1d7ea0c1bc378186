"""Reviews and what follows from them: the submission summary, agreement, composites.

Every change of a score goes through here and leaves an audit entry (who, when, before,
after) in the same transaction as the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select, true
from sqlalchemy.orm import Session, aliased

from api import scoring
from api.models import (
    TIERS,
    Applicant,
    AuditEntry,
    Cohort,
    Grading,
    Review,
    Submission,
    TaskRow,
    User,
    utcnow,
)
from api.stand_ins import standing_scores


class ReviewError(ValueError):
    """A review that does not fit the task's rubric (unknown criterion, score out of range)."""


def summary(sub: Submission) -> dict[str, Any]:
    """The score-bearing fields of a submission, for audit entries."""
    return {
        "status": sub.status,
        "score": sub.score,
        "task_score": None if sub.task_score is None else round(sub.task_score, 6),
        "tier": sub.tier,
        "integrity_flag": sub.integrity_flag,
        "review_count": sub.review_count,
    }


def recompute(session: Session, sub: Submission) -> None:
    """Refresh the submission's dashboard summary from its current grading and reviews."""
    task = session.get(TaskRow, sub.task_id)
    assert task is not None
    grading = session.get(Grading, sub.grading_id) if sub.grading_id else None
    if grading is not None:
        sub.status = grading.status
        sub.score = grading.score
        sub.max_score = grading.max_score
    reviews = list(session.scalars(select(Review).where(Review.submission_id == sub.id)))
    rubric_max = task.rubric_max
    # A criterion the judge stands in on takes its score where a review left it blank.
    judge_scores, standing = standing_scores(session, sub)
    fracs = [
        scoring.review_total(r.scores, judge_scores, standing) / rubric_max
        for r in reviews
        if rubric_max > 0 and r.scores
    ]
    sub.review_count = len(reviews)
    sub.manual_frac = sum(fracs) / len(fracs) if fracs else None
    auto = None
    if sub.score is not None and sub.max_score:
        auto = sub.score / sub.max_score
    sub.task_score = scoring.task_score(auto, fracs, task.automatic_weight)
    tiers = [r.tier for r in reviews]
    sub.tier = scoring.consensus_tier(tiers)
    sub.integrity_flag = any(r.integrity_flag for r in reviews)
    sub.disagreement = scoring.disagreement(tiers, fracs)


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    submission_id: int | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        AuditEntry(
            actor=actor, action=action, submission_id=submission_id, before=before, after=after
        )
    )


@dataclass(frozen=True)
class ReviewInput:
    scores: dict[str, float]
    tier: str | None
    integrity_flag: bool
    integrity_note: str
    comment: str


def check_review(task: TaskRow, data: ReviewInput) -> None:
    """Raises ReviewError unless every score is a criterion's and within its range."""
    criteria = {c["id"]: c for c in task.rubric.get("criteria", [])}
    for cid, value in data.scores.items():
        if cid not in criteria:
            raise ReviewError(f"unknown rubric criterion {cid!r}")
        if not 0 <= value <= criteria[cid]["max_score"]:
            raise ReviewError(
                f"criterion {cid!r}: score {value:g} outside 0..{criteria[cid]['max_score']:g}"
            )
    if data.tier is not None and data.tier not in TIERS:
        raise ReviewError(f"unknown tier {data.tier!r}; expected one of {', '.join(TIERS)}")


def save_review(session: Session, sub: Submission, reviewer: User, data: ReviewInput) -> Review:
    """Create or update `reviewer`'s review of `sub`, refresh the summary, audit the change.

    Raises:
        ReviewError: a score or tier that the rubric does not allow.
    """
    task = session.get(TaskRow, sub.task_id)
    assert task is not None
    check_review(task, data)
    review = session.scalar(
        select(Review).where(Review.submission_id == sub.id, Review.reviewer_id == reviewer.id)
    )
    before_review: dict[str, Any] = {}
    if review is None:
        review = Review(submission_id=sub.id, reviewer_id=reviewer.id)
        session.add(review)
    else:
        before_review = _review_dict(review)
    before = summary(sub)
    review.scores = dict(data.scores)
    review.total = float(sum(data.scores.values()))
    review.tier = data.tier
    review.integrity_flag = data.integrity_flag
    review.integrity_note = data.integrity_note
    review.comment = data.comment
    review.updated_at = utcnow()
    session.flush()
    recompute(session, sub)
    audit(
        session,
        actor=f"reviewer:{reviewer.username}",
        action="review",
        submission_id=sub.id,
        before={"review": before_review, "submission": before},
        after={"review": _review_dict(review), "submission": summary(sub)},
    )
    return review


def _review_dict(r: Review) -> dict[str, Any]:
    return {
        "scores": dict(r.scores),
        "total": r.total,
        "tier": r.tier,
        "integrity_flag": r.integrity_flag,
    }


def agreement(session: Session, task_id: str, view: Independence) -> dict[str, Any]:
    """Quadratic-weighted kappa on tiers over reviewer pairs, and submissions to adjudicate.

    Counted only over submissions whose reviews `view` may see (:class:`Independence`): a
    reviewer's figures come from the submissions they have reviewed themselves, so neither
    kappa nor the adjudication list tells them what others decided elsewhere.
    """
    sees = view.sees_reviews_sql()
    rows = session.execute(
        select(Review.submission_id, Review.tier)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.task_id == task_id, sees)
    ).all()
    by_sub: dict[int, list[str | None]] = defaultdict(list)
    for sid, tier in rows:
        by_sub[sid].append(tier)
    pairs = scoring.tier_pairs(by_sub)
    kappa = scoring.quadratic_weighted_kappa(pairs, len(TIERS))
    flagged = list(
        session.scalars(
            select(Submission.id).where(
                Submission.task_id == task_id, Submission.disagreement.is_(True), sees
            )
        )
    )
    return {
        "task": task_id,
        "kappa": kappa,
        "pairs": len(pairs),
        "multi_reviewed": sum(1 for v in by_sub.values() if len(v) >= 2),
        "adjudicate": flagged,
    }


@dataclass(frozen=True)
class Independence:
    """Reviewers score independently: the one rule for every page, API answer and export.

    A reviewer sees other reviewers' reviews of a submission, and everything computed from
    them (rubric fraction, the task score that blends it in, consensus tier, integrity flag,
    disagreement, and composites and ranks built on those), only once they have saved their
    own review of it. Until then the submission reads as if unreviewed: the task score is the
    automatic fraction alone. Operators see everything.
    """

    everything: bool
    reviewed: frozenset[int]  # submissions the viewer has reviewed
    reviewer_id: int | None

    @classmethod
    def of(cls, session: Session, user: User | None) -> Independence:
        if user is None:
            return cls(everything=False, reviewed=frozenset(), reviewer_id=None)
        # Mentors never review (their pages are their streams'): no review of theirs can be
        # anchored by what others wrote, so they see the consensus as operators do.
        if user.role in ("operator", "mentor"):
            return cls(everything=True, reviewed=frozenset(), reviewer_id=user.id)
        ids = session.scalars(select(Review.submission_id).where(Review.reviewer_id == user.id))
        return cls(everything=False, reviewed=frozenset(ids), reviewer_id=user.id)

    def sees_reviews(self, submission_id: int) -> bool:
        return self.everything or submission_id in self.reviewed

    def task_score(self, sub: Submission) -> float | None:
        if self.sees_reviews(sub.id):
            return sub.task_score
        return _automatic(sub)

    def summary(self, sub: Submission) -> dict[str, Any]:
        """The review-derived fields of `sub` as this viewer may see them."""
        if self.sees_reviews(sub.id):
            return {
                "manual_frac": sub.manual_frac,
                "task_score": sub.task_score,
                "tier": sub.tier,
                "integrity_flag": sub.integrity_flag,
                "disagreement": sub.disagreement,
            }
        return {
            "manual_frac": None,
            "task_score": _automatic(sub),
            "tier": None,
            "integrity_flag": False,
            "disagreement": False,
        }

    # The same rule in SQL, for filters and sorting on the dashboard.
    def sees_reviews_sql(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        # An alias: the test correlates with Submission only, also inside queries on reviews.
        mine = aliased(Review)
        return exists().where(
            mine.submission_id == Submission.id, mine.reviewer_id == self.reviewer_id
        )

    def task_score_sql(self) -> ColumnElement[Any]:
        if self.everything:
            return Submission.task_score  # type: ignore[return-value]
        auto = Submission.score / func.nullif(Submission.max_score, 0)
        return case((self.sees_reviews_sql(), Submission.task_score), else_=auto)

    def flag_sql(self, column: Any) -> ColumnElement[bool]:
        return and_(self.sees_reviews_sql(), column.is_(True))


def _automatic(sub: Submission) -> float | None:
    if sub.score is None or not sub.max_score:
        return None
    return sub.score / sub.max_score


@dataclass(frozen=True)
class Ranked:
    applicant_id: int
    composite: float
    tasks: dict[str, float | None]
    provisional: bool
    integrity_flag: bool


def ranking(
    session: Session,
    cohort: Cohort,
    view: Independence | None = None,
    *,
    applicant_id: int | None = None,
) -> list[Ranked]:
    """Applicants of `cohort` by composite score, best first (the counted submission per task),
    from the task scores and flags that `view` may see (all of them without one).

    With `applicant_id`, that applicant alone: a composite depends on the applicant's own
    submissions only, so one submission's page need not read the whole cohort.
    """
    score: Callable[[Submission], float | None] = view.task_score if view else _stored_score
    flag: Callable[[Submission], bool] = (
        (lambda s: bool(view.summary(s)["integrity_flag"])) if view else _stored_flag
    )
    weights = {k: float(v) for k, v in (cohort.weights or scoring.DEFAULT_WEIGHTS).items()}
    rows = session.execute(
        select(Submission, TaskRow.kind, TaskRow.rubric)
        .join(TaskRow, TaskRow.id == Submission.task_id)
        .where(
            Submission.cohort_id == cohort.id,
            # The submission that counts for each task: superseded uploads never rank.
            Submission.counted.is_(True),
            true() if applicant_id is None else Submission.applicant_id == applicant_id,
        )
        .order_by(Submission.applicant_id, Submission.task_id, Submission.id)
    ).all()
    latest: dict[int, dict[str, tuple[Submission, str, bool]]] = defaultdict(dict)
    for sub, kind, rubric in rows:
        latest[sub.applicant_id][sub.task_id] = (sub, kind, bool(rubric))
    out: list[Ranked] = []
    for applicant_id, tasks in latest.items():
        by_kind: dict[str, list[float]] = defaultdict(list)
        provisional = False
        for sub, kind, has_rubric in tasks.values():
            value = score(sub)
            if value is not None:
                by_kind[kind].append(value)
            if value is None or (has_rubric and sub.review_count == 0):
                provisional = True
            if view is not None and has_rubric and not view.sees_reviews(sub.id):
                provisional = True
        out.append(
            Ranked(
                applicant_id=applicant_id,
                composite=scoring.composite(by_kind, weights),
                tasks={t: score(s) for t, (s, _, _) in tasks.items()},
                provisional=provisional,
                integrity_flag=any(flag(s) for s, _, _ in tasks.values()),
            )
        )
    out.sort(key=lambda r: (-r.composite, r.applicant_id))
    return out


def _stored_score(sub: Submission) -> float | None:
    return sub.task_score


def _stored_flag(sub: Submission) -> bool:
    return sub.integrity_flag


def applicant_composite(
    session: Session, applicant: Applicant, view: Independence | None = None
) -> Ranked | None:
    for r in ranking(session, applicant.cohort, view, applicant_id=applicant.id):
        if r.applicant_id == applicant.id:
            return r
    return None
