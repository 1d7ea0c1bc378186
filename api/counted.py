"""Which submission counts for an (applicant, task): the one switch, shared by uploads and
by extensions that make a late upload on time again."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import Applicant, Assignment, Submission


def mark_counted(session: Session, sub: Submission) -> list[int]:
    """Make `sub` the counted submission of its (applicant, task); returns the ids it replaced.

    The reviewers assigned to a replaced submission are assigned to `sub` as well, so a
    re-upload stays in the queues it was in.
    """
    # One upload of the applicant at a time (PostgreSQL; SQLite has one writer anyway), so
    # two racing uploads cannot both stay counted. FOR NO KEY UPDATE: the foreign-key checks
    # of gradings written meanwhile (KEY SHARE) do not wait on it, nor it on them.
    session.get(Applicant, sub.applicant_id, with_for_update={"key_share": True})
    pair = (
        Submission.applicant_id == sub.applicant_id,
        Submission.task_id == sub.task_id,
        Submission.id != sub.id,
    )
    replaced = list(session.scalars(select(Submission.id).where(*pair, Submission.counted)))
    sub.counted = True
    if replaced:
        # Only those rows change (an applicant's every upload was rewritten before).
        session.execute(update(Submission).where(Submission.id.in_(replaced)).values(counted=False))
        rows = session.execute(
            select(Assignment.submission_id, Assignment.reviewer_id).where(
                Assignment.submission_id.in_([sub.id, *replaced])
            )
        ).all()
        have = {reviewer for on, reviewer in rows if on == sub.id}
        carried = sorted({reviewer for on, reviewer in rows if on != sub.id})
        for reviewer_id in carried:
            if reviewer_id not in have:
                session.add(
                    Assignment(
                        submission_id=sub.id,
                        reviewer_id=reviewer_id,
                        assigned_by=f"re-upload of #{replaced[0]}",
                    )
                )
    session.flush()
    return replaced
