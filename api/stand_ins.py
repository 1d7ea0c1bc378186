"""Where the rubric judge stands in for humans, and its scores there: what a review's
rubric total takes (api.scoring.review_total). A leaf over the models, so that the review
summary (api.reviewing) reads it without importing the judge's machinery."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import JudgeStandIn, Judgment, Submission


def stand_ins(db: Session, task_id: str) -> set[str]:
    """The criteria of `task_id` on which the judge currently stands in for humans."""
    return set(
        db.scalars(
            select(JudgeStandIn.criterion).where(
                JudgeStandIn.task_id == task_id, JudgeStandIn.enabled.is_(True)
            )
        )
    )


def standing_scores(db: Session, sub: Submission) -> tuple[dict[str, float], set[str]]:
    """The judge's latest valid score of `sub` per criterion it stands in on, and those
    criteria: what :func:`api.scoring.review_total` takes."""
    standing = stand_ins(db, sub.task_id)
    if not standing:
        return {}, standing
    rows = db.execute(
        select(Judgment.criterion, Judgment.score)
        .where(
            Judgment.submission_id == sub.id,
            Judgment.status == "ok",
            Judgment.criterion.in_(standing),
        )
        .order_by(Judgment.created_at, Judgment.id)
    ).all()
    scores = {c: float(v) for c, v in rows if v is not None}  # the latest wins
    return scores, standing
