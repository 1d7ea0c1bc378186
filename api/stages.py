"""An applicant's stage, computed from what is stored rather than kept as a second copy.

A decision stored on the applicant (advanced, rejected, withdrawn) is the stage. Without one,
the stage follows from what the applicant did: ``invited`` (nothing yet), ``started`` (an
attempt at a task), ``submitted`` (a counted submission), ``reviewed`` (every counted
submission has at least one review). Computing it keeps it right whatever changed it: an
upload, a review, a decision cleared by an operator.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Applicant, Attempt, Cohort, Submission

DECISIONS = ("advanced", "rejected", "withdrawn")
PROGRESS = ("invited", "started", "submitted", "reviewed")
STAGES = (*PROGRESS, *DECISIONS)


def derive(decision: str | None, attempted: bool, review_counts: list[int]) -> str:
    """The stage from a decision, whether an attempt was started, and the review count of
    each counted submission."""
    if decision in DECISIONS:
        return decision
    if review_counts:
        return "reviewed" if all(n >= 1 for n in review_counts) else "submitted"
    return "started" if attempted else "invited"


def stages(db: Session, cohort: Cohort) -> dict[int, str]:
    """Every applicant of `cohort` and their stage, in three queries whatever the cohort's size."""
    decisions: dict[int, str | None] = {
        aid: decision
        for aid, decision in db.execute(
            select(Applicant.id, Applicant.decision).where(Applicant.cohort_id == cohort.id)
        )
    }
    attempted = set(
        db.scalars(
            select(Attempt.applicant_id)
            .join(Applicant, Applicant.id == Attempt.applicant_id)
            .where(Applicant.cohort_id == cohort.id)
        )
    )
    counts: dict[int, list[int]] = defaultdict(list)
    for applicant_id, n in db.execute(
        select(Submission.applicant_id, Submission.review_count).where(
            Submission.cohort_id == cohort.id, Submission.counted.is_(True)
        )
    ):
        counts[applicant_id].append(n)
    return {
        aid: derive(decision, aid in attempted, counts.get(aid, []))
        for aid, decision in decisions.items()
    }


def stage_of(db: Session, applicant: Applicant) -> str:
    """One applicant's stage (the same rule as :func:`stages`)."""
    attempted = (
        db.scalar(select(Attempt.id).where(Attempt.applicant_id == applicant.id).limit(1))
        is not None
    )
    counts = list(
        db.scalars(
            select(Submission.review_count).where(
                Submission.applicant_id == applicant.id, Submission.counted.is_(True)
            )
        )
    )
    return derive(applicant.decision, attempted, counts)
