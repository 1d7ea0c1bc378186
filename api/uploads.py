"""Receiving a submission: stage, validate with the grader's intake, store, queue.

Order matters: the bytes are staged and fsynced, validated exactly as the grader will read
them, moved to their content address, and only then recorded with a queued job, in one
transaction. A rejected or failed upload leaves nothing behind; the same bytes sent again
(a retry) return the submission already recorded instead of a second one.

Deadlines come first (:func:`api.attempts.admit`): before the cohort's window opens, for a
timed task not yet started, or after the applicant's deadline under the "refuse" policy, the
upload is refused before a byte is stored; under "flag" a late upload is stored with
``late`` set.

The submission that counts for (applicant, task) is the last one received on time: an
on-time upload marks itself ``counted`` and every other submission of the pair not, in the
transaction that records it. A late upload counts only while the pair has no on-time
submission (then the last late one counts, and says it is late). Bytes identical to an
earlier submission were received last too, so that earlier submission counts again (audited,
since it changes rankings) - unless they arrive late, which changes nothing. Reviewers
assigned to the pair follow the counted submission.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import catalog
from api.attempts import AttemptError, admit
from api.counted import mark_counted
from api.grading import new_job
from api.models import Applicant, AuditEntry, Job, Submission, TaskRow, utcnow
from api.services import Services
from api.storage import SUFFIXES, TooLarge
from grader.errors import IntakeError, TaskSpecError
from grader.intake import intake
from grader.task import Task

# A zip is usually smaller than what it unpacks to; this slack covers archive overhead.
_ZIP_SLACK = 1 << 20


class UploadRejected(ValueError):
    """The upload is not acceptable; the message says why, in one line."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Received:
    submission: Submission
    created: bool
    job_id: int | None
    queue: str


def safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", base).strip("-.") or "submission"
    return base[-120:]


def upload_limit(services: Services, task: TaskRow, loaded: Task | None = None) -> int:
    """The task's upload cap in bytes (`loaded`: its folder, when already read)."""
    rules = (loaded or catalog.load(task.root)).spec.submission
    return min(services.settings.max_upload_bytes, rules.max_bytes + _ZIP_SLACK)


def refresh_upload_limits(services: Services, session: Session) -> None:
    """Recompute every task's upload cap (at start-up and after a task sync)."""
    limits = {}
    for task in session.scalars(select(TaskRow)):
        try:
            limits[task.id] = upload_limit(services, task)
        except TaskSpecError:  # a folder gone bad since it was loaded: the service cap holds
            continue
    services.upload_limits = limits


def receive(
    services: Services,
    applicant: Applicant,
    task: TaskRow,
    filename: str,
    chunks: Iterable[bytes],
    *,
    received_at: datetime | None = None,
) -> Received:
    """Validate and store one upload for `applicant` and queue its grading. `received_at`:
    when its body had arrived (for the deadline and the record), if not now.

    Raises:
        UploadRejected: outside the applicant's window or deadline, wrong type, too large,
            or rejected by the grader's intake.
    """
    # The request's body has arrived by now (FastAPI reads the form before the handler):
    # unless the caller noted it earlier, this is when the upload was received.
    now = received_at or utcnow()
    with services.sessions() as session:
        try:
            late = admit(session, applicant, task, now)
        except AttemptError as e:
            raise UploadRejected(str(e), e.status_code) from None
    name = safe_filename(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadRejected(f"{name}: upload a .zip archive or an .ipynb notebook")
    grader_task = catalog.load(task.root)
    limit = upload_limit(services, task, grader_task)
    try:
        staged, sha = services.blobs.stage(chunks, suffix=suffix, max_bytes=limit)
    except TooLarge:
        raise UploadRejected(f"{name}: larger than this task allows ({limit} bytes)", 413) from None
    try:
        with tempfile.TemporaryDirectory(prefix="assess-intake-") as tmp:
            named = Path(tmp) / name
            shutil.copyfile(staged, named)
            try:
                sub_ref = intake(named, grader_task.spec.submission, Path(tmp) / "unpacked").ref
            except IntakeError as e:
                raise UploadRejected(str(e)) from None
        existing = _existing(services, applicant.id, task.id, sha, late=late)
        if existing is not None:
            return existing
        services.blobs.commit(staged, sha, suffix)
    finally:
        services.blobs.discard(staged)
    try:
        with services.sessions() as session, session.begin():
            sub = Submission(
                applicant_id=applicant.id,
                task_id=task.id,
                cohort_id=applicant.cohort_id,
                blob_sha256=sha,
                filename=name,
                size=_size(services, sha, suffix),
                content_sha256=sub_ref.sha256,
                files=len(sub_ref.files),
                received_at=now,
                late=late,
                # An on-time upload counts: stored so at once, not switched by an update.
                counted=not late,
            )
            session.add(sub)
            session.flush()
            if not late or not _has_on_time(session, sub):
                mark_counted(session, sub)
            job = new_job(session, sub, task)
            job_id, queue = job.id, job.queue
    except IntegrityError:  # the same upload raced in from a retry: return the first
        again = _existing(services, applicant.id, task.id, sha, late=late)
        if again is None:
            raise
        return again
    if services.queue is not None:
        services.queue.enqueue(job_id, queue)
    return Received(submission=sub, created=True, job_id=job_id, queue=queue)


def _has_on_time(session: Session, sub: Submission) -> bool:
    """Whether the pair of `sub` has an on-time submission other than `sub`."""
    return (
        session.scalar(
            select(Submission.id)
            .where(
                Submission.applicant_id == sub.applicant_id,
                Submission.task_id == sub.task_id,
                Submission.id != sub.id,
                Submission.late.is_(False),
            )
            .limit(1)
        )
        is not None
    )


def _size(services: Services, sha: str, suffix: str) -> int:
    return services.blobs.path(sha, suffix).stat().st_size


def _existing(
    services: Services, applicant_id: int, task_id: str, sha: str, *, late: bool
) -> Received | None:
    with services.sessions() as session:
        sub = session.scalar(
            select(Submission).where(
                Submission.applicant_id == applicant_id,
                Submission.task_id == task_id,
                Submission.blob_sha256 == sha,
            )
        )
        if sub is None:
            return None
        # The same bytes again, received last and on time: they count again. Sent again
        # after the deadline they change nothing (a late upload never displaces an on-time one).
        if not sub.counted and not late:
            replaced = mark_counted(session, sub)
            session.add(
                AuditEntry(
                    actor=f"applicant:{applicant_id}",
                    action="counted",
                    submission_id=sub.id,
                    before={"counted": False, "counted_submissions": replaced},
                    after={"counted": True},
                )
            )
            session.commit()
        job = session.scalar(select(Job).where(Job.submission_id == sub.id).order_by(Job.id))
        return Received(
            submission=sub,
            created=False,
            job_id=job.id if job else None,
            queue=job.queue if job else "cpu",
        )
