"""A job's life shared by every queue (grading and the rubric judge): adding one, claiming
it exactly once (a lease, and take-over from a worker that is gone), and the file name the
grader sees. A leaf under api.grading and api.judging, so neither imports the other's
machinery to run its jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from api.models import Grading, Job, Submission, TaskRow, utcnow
from api.services import Services, holder_is_dead
from grader.task import Task

log = logging.getLogger("assess.grading")
MAX_ATTEMPTS = 3
# A running job whose worker has said nothing for this long is presumed lost and may be
# claimed again (a grading is bounded by the task's run + check timeouts, at most 3 h).
LEASE = timedelta(hours=3)


class Outcome(StrEnum):
    done = "done"  # a report was written (or one already existed)
    retry = "retry"  # an infrastructure failure; the job is queued again
    failed = "failed"  # out of attempts
    busy = "busy"  # another worker holds the job
    gone = "gone"  # no such job, or already finished


def new_job(session: Session, sub: Submission, task: TaskRow) -> Job:
    job = Job(submission_id=sub.id, queue="gpu" if task.gpu else "cpu")
    session.add(job)
    session.flush()
    return job


@dataclass(frozen=True)
class Claimed:
    """What running a claimed job needs, read in the claim's own transaction."""

    queue: str
    attempts: int  # this one included
    submission_id: int
    root: str  # the task's folder
    blob: str  # the stored upload's sha256
    filename: str
    graded: frozenset[str]  # task digests the submission has a report at (not an error)


def claim(services: Services, job_id: int) -> Outcome | Claimed:
    """Take the job (queued; running past its lease; or running in a process on this host
    that is gone, e.g. a killed worker whose message came back): what running it needs, or
    why it is not this worker's to run."""
    now = utcnow()
    taken_over = False
    with services.sessions() as session, session.begin():
        values: dict[str, Any] = {
            "state": "running",
            "attempts": Job.attempts + 1,
            "worker": services.worker_name,
            "started_at": now,
        }
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.state == "queued",
                    and_(Job.state == "running", Job.started_at < now - LEASE),
                ),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        claimed = result.rowcount == 1  # type: ignore[attr-defined]
        if not claimed:
            job = session.get(Job, job_id)
            if job is None or job.state in ("done", "failed"):
                return Outcome.gone
            if job.state != "running" or not holder_is_dead(job.worker):
                return Outcome.busy
            result = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == "running", Job.worker == job.worker)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return Outcome.busy
            log.warning("job %s: took over from %s, which is gone", job_id, job.worker)
            taken_over = True
        # One read for the job as updated, its submission and its task's folder (a job's
        # submission and task are never deleted before the job).
        queue, attempts, sub, root = session.execute(
            select(Job.queue, Job.attempts, Submission, TaskRow.root)
            .join(Submission, Submission.id == Job.submission_id)
            .join(TaskRow, TaskRow.id == Submission.task_id)
            .where(Job.id == job_id)
        ).one()
        if sub.status in ("queued",):
            sub.status = "running"
        graded = session.scalars(
            select(Grading.task_digest).where(
                Grading.submission_id == sub.id, Grading.status != "error"
            )
        )
        claimed = Claimed(
            queue=queue,
            attempts=attempts,
            submission_id=sub.id,
            root=root,
            blob=sub.blob_sha256,
            filename=sub.filename,
            graded=frozenset(graded),
        )
    if taken_over and services.reap is not None:
        services.reap()  # the dead holder's containers
    return claimed


def graded_name(task: Task, filename: str) -> str:
    """The file name the grader sees. A notebook keeps its name where the task requires
    that name; otherwise it is neutral, so no applicant's name reaches a blind report."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".ipynb" and filename in task.spec.submission.required:
        return filename
    return f"submission{suffix}"
