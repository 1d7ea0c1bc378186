"""What an applicant is asked to do: the cohort's tasks, then the follow-up tasks of the
streams that shortlisted them. The one definition, for the portal, uploads and attempts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Applicant, CohortTask, TaskRow
from api.streams import open_follow_up_task_ids


def assigned_tasks(db: Session, applicant: Applicant) -> list[TaskRow]:
    """The cohort's tasks by id, then the open follow-ups not already among them."""
    cohort = list(
        db.scalars(
            select(TaskRow)
            .join(CohortTask, CohortTask.task_id == TaskRow.id)
            .where(CohortTask.cohort_id == applicant.cohort_id)
            .order_by(TaskRow.id)
        )
    )
    have = {t.id for t in cohort}
    extra = [t for t in open_follow_up_task_ids(db, applicant) if t not in have]
    if not extra:
        return cohort
    follow = db.scalars(select(TaskRow).where(TaskRow.id.in_(extra)).order_by(TaskRow.id))
    return cohort + list(follow)
