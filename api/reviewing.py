"""Reviews and what follows from them: the submission summary, agreement, composites.

Every change of a score goes through here and leaves an audit entry (who, when, before,
after) in the same transaction as the change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    fracs = [r.total / rubric_max for r in reviews if rubric_max > 0 and r.scores]
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


def agreement(session: Session, task_id: str) -> dict[str, Any]:
    """Quadratic-weighted kappa on tiers over reviewer pairs, and submissions to adjudicate."""
    rows = session.execute(
        select(Review.submission_id, Review.tier)
        .join(Submission, Submission.id == Review.submission_id)
        .where(Submission.task_id == task_id)
    ).all()
    by_sub: dict[int, list[str | None]] = defaultdict(list)
    for sid, tier in rows:
        by_sub[sid].append(tier)
    pairs = scoring.tier_pairs(by_sub)
    kappa = scoring.quadratic_weighted_kappa(pairs, len(TIERS))
    flagged = list(
        session.scalars(
            select(Submission.id).where(
                Submission.task_id == task_id, Submission.disagreement.is_(True)
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
class Ranked:
    applicant_id: int
    composite: float
    tasks: dict[str, float | None]
    provisional: bool
    integrity_flag: bool


def ranking(session: Session, cohort: Cohort) -> list[Ranked]:
    """Applicants of `cohort` by composite score, best first (latest submission per task)."""
    weights = {k: float(v) for k, v in (cohort.weights or scoring.DEFAULT_WEIGHTS).items()}
    rows = session.execute(
        select(Submission, TaskRow.kind, TaskRow.rubric)
        .join(TaskRow, TaskRow.id == Submission.task_id)
        .where(Submission.cohort_id == cohort.id)
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
            if sub.task_score is not None:
                by_kind[kind].append(sub.task_score)
            if sub.task_score is None or (has_rubric and sub.review_count == 0):
                provisional = True
        out.append(
            Ranked(
                applicant_id=applicant_id,
                composite=scoring.composite(by_kind, weights),
                tasks={t: s.task_score for t, (s, _, _) in tasks.items()},
                provisional=provisional,
                integrity_flag=any(s.integrity_flag for s, _, _ in tasks.values()),
            )
        )
    out.sort(key=lambda r: (-r.composite, r.applicant_id))
    return out


def applicant_composite(session: Session, applicant: Applicant) -> Ranked | None:
    for r in ranking(session, applicant.cohort):
        if r.applicant_id == applicant.id:
            return r
    return None
