"""Running one ``grade`` job: claim it, grade the stored submission, write the result once.

Shared by the in-process pool and the Celery workers. The write is idempotent, keyed by
(submission, task digest): a job delivered twice, or retried after its worker died, adds
no second report. A grading that ended in ``error`` (infrastructure) is replaced by a
later attempt at the same digest; any other report is kept, and a re-grade after the task
changed adds a new report linked to the previous one, with the differences listed.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api import catalog
from api.jobs import LEASE, MAX_ATTEMPTS, Outcome, claim, graded_name, new_job
from api.judging import QUEUE as JUDGE_QUEUE
from api.judging import judge_claimed, new_judge_job, wants_judging
from api.models import Grading, Job, Submission, TaskRow, utcnow
from api.reviewing import audit, recompute, summary
from api.services import Services
from grader.errors import AssessError
from grader.report import Report
from grader.spans import span

log = logging.getLogger("assess.grading")
__all__ = ["LEASE", "MAX_ATTEMPTS", "Outcome", "claim", "graded_name", "new_job"]


def run_job(services: Services, job_id: int) -> Outcome:
    """Claim and run one job. Never raises for a grading outcome or an infrastructure error.

    A job of the judge's queue is run by :func:`api.judging.judge_claimed`, whoever got it."""
    with span("service.claim"):
        claimed = claim(services, job_id)
    if isinstance(claimed, Outcome):
        return claimed
    if claimed.queue == JUDGE_QUEUE:
        return Outcome(judge_claimed(services, job_id, claimed))
    t0 = time.monotonic()
    sub_id, filename = claimed.submission_id, claimed.filename
    try:
        with span("service.task"):
            task = catalog.load(claimed.root)
            digest = task.digest
        if digest in claimed.graded:
            _finish(services, job_id, "done", "")
            return Outcome.done
        with span("service.blob"):
            path = services.blobs.open_verified(claimed.blob, Path(filename).suffix.lower())
        artifacts = services.settings.artifacts_dir / str(sub_id) / digest[:16]
        artifacts.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=artifacts.parent, prefix=".job-") as tmp:
            named = Path(tmp) / graded_name(task, filename)
            shutil.copyfile(path, named)
            with span("grade"):
                report = services.grade_fn(task, named, Path(tmp) / "outputs")
            if (Path(tmp) / "outputs").exists():
                shutil.rmtree(artifacts, ignore_errors=True)
                (Path(tmp) / "outputs").rename(artifacts)
    except Exception as e:  # infrastructure: the engine, the storage, the task folder
        why = f"{type(e).__name__}: {e}" if not isinstance(e, AssessError) else str(e)
        log.warning("job %s attempt %s failed: %s", job_id, claimed.attempts, why)
        if claimed.attempts >= MAX_ATTEMPTS:
            _finish(services, job_id, "failed", why, submission_status="error")
            return Outcome.failed
        _finish(services, job_id, "queued", why)
        return Outcome.retry
    # The database may refuse for a while (SQLite locked past its busy timeout, PostgreSQL
    # restarting): the write is one transaction, so a failed one left nothing; try again.
    judging: list[int | None] = []
    with span("service.write_result"):
        _persist(lambda: judging.append(_record(services, job_id, sub_id, report)))
    if judging and judging[-1] is not None and services.queue is not None:
        services.queue.enqueue(judging[-1], JUDGE_QUEUE)
    log.info("job %s graded %s in %.1fs", job_id, report.status.value, time.monotonic() - t0)
    return Outcome.done


def _record(services: Services, job_id: int, sub_id: int, report: Report) -> int | None:
    """In one transaction: the report (:func:`store_result`), the job done, and a judging
    job when the cohort asks for one (:func:`queue_judging`'s rule); returns its id.

    When another worker stored a report at the same digest first, its report stands: this
    job is finished in a transaction of its own, and judging is queued as it would be."""
    actor = f"worker:{services.worker_name}"
    try:
        with services.sessions() as session, session.begin():
            # Held here for the whole transaction: the session keeps only weak references to
            # unchanged rows, and each step below would read them again.
            sub = session.get(Submission, sub_id, with_for_update=True)
            assert sub is not None
            _task = session.get(TaskRow, sub.task_id)
            store_result(session, sub, report, actor=actor)
            _finish_in(session, job_id, "done", "")
            return _judging_in(session, sub_id, report.status.value)
    except IntegrityError:
        _finish(services, job_id, "done", "")
        return queue_judging(services, sub_id, report.status.value)


WRITE_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 8.0)


def _persist(write: Callable[[], object]) -> None:
    """Run a one-transaction database write, retrying a refused one a bounded number of times."""
    for pause in (*WRITE_PAUSES_S, None):
        try:
            write()
            return
        except OperationalError as e:
            if pause is None:
                raise
            log.warning("database refused a write (%s); again in %.1fs", e.orig, pause)
            time.sleep(pause)


def queue_judging(services: Services, sub_id: int, status: str) -> int | None:
    """Add a job on the judge's own queue after a grading, when the submission's cohort
    asks for the rubric judge (:func:`api.judging.wants_judging`); its id, or None."""
    with services.sessions() as session, session.begin():
        return _judging_in(session, sub_id, status)


def _judging_in(session: Session, sub_id: int, status: str) -> int | None:
    sub = session.get(Submission, sub_id)
    if sub is None or not wants_judging(session, sub, status):
        return None
    job = new_judge_job(session, sub)
    return job.id if job is not None else None


def _finish(
    services: Services, job_id: int, state: str, error: str, submission_status: str | None = None
) -> None:
    with services.sessions() as session, session.begin():
        _finish_in(session, job_id, state, error, submission_status)


def _finish_in(
    session: Session, job_id: int, state: str, error: str, submission_status: str | None = None
) -> None:
    # One UPDATE, without reading the row first; it names the job's submission.
    sub_id = session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            state=state,
            error=error[:2000],
            finished_at=utcnow() if state in ("done", "failed") else None,
        )
        .returning(Job.submission_id)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if submission_status is None and state != "queued":
        return  # the submission's status is not this job's to change
    sub = session.get(Submission, sub_id)
    if sub is not None and submission_status is not None and sub.grading_id is None:
        sub.status = submission_status
    elif sub is not None and state == "queued" and sub.grading_id is None:
        sub.status = "queued"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two reports: status, score, and each check's score."""
    diffs: list[dict[str, Any]] = []
    for key in ("status", "score"):
        if old.get(key) != new.get(key):
            diffs.append({"what": key, "before": old.get(key), "after": new.get(key)})
    before = {c["id"]: c["score"] for c in old.get("checks", [])}
    after = {c["id"]: c["score"] for c in new.get("checks", [])}
    for cid in sorted(before.keys() | after.keys()):
        if before.get(cid) != after.get(cid):
            diffs.append(
                {"what": f"check {cid}", "before": before.get(cid), "after": after.get(cid)}
            )
    return diffs


def store_result(session: Session, sub: Submission, report: Report, *, actor: str) -> int:
    """Store `report` for the submission (read for update in `session`'s transaction;
    idempotent per task digest: a report at the digest that is not an infrastructure error
    stands); return the grading id. Raises IntegrityError (at flush) when another worker
    stored one meanwhile."""
    doc = report.to_json()
    sub_id = sub.id
    existing = session.scalar(
        select(Grading).where(
            Grading.submission_id == sub_id, Grading.task_digest == report.task.digest
        )
    )
    if existing is not None and existing.status != "error":
        return existing.id
    before = summary(sub)
    previous = session.get(Grading, sub.grading_id) if sub.grading_id else None
    diffs: list[dict[str, Any]] = []
    if previous is not None and previous is not existing:
        diffs = differences(json.loads(previous.report_json), json.loads(doc))
    values: dict[str, Any] = {
        "task_version": report.task.version,
        "status": report.status.value,
        "score": report.score,
        "max_score": report.max_score,
        "report_json": doc,
        "differences": {"items": diffs},
    }
    if existing is not None:  # an infrastructure error at this digest: replace it
        for k, v in values.items():
            setattr(existing, k, v)
        existing.created_at = utcnow()
        grading = existing
    else:
        grading = Grading(
            submission_id=sub_id,
            task_digest=report.task.digest,
            previous_id=previous.id if previous else None,
            **values,
        )
        session.add(grading)
    session.flush()
    sub.grading_id = grading.id
    sub.content_sha256 = report.submission.sha256 or sub.content_sha256
    # What recompute reads (reviews, the judge's scores) does not depend on the changes to
    # `sub` above: they are written once, at the end, not flushed before its first query.
    with session.no_autoflush:
        recompute(session, sub)
    audit(
        session,
        actor=actor,
        action="regrade" if previous is not None else "grade",
        submission_id=sub_id,
        before=before,
        after={**summary(sub), "task_digest": report.task.digest},
    )
    return grading.id


def enqueue_regrade(session: Session, task: TaskRow) -> list[Job]:
    """Queue a new grading of every submission of `task` not graded at its current digest."""
    graded = select(Grading.submission_id).where(Grading.task_digest == task.digest)
    graded = graded.where(Grading.status != "error")
    # A judging job in flight is no grading: it never holds a re-grade back.
    active = select(Job.submission_id).where(
        Job.state.in_(("queued", "running")), Job.queue != JUDGE_QUEUE
    )
    subs = session.scalars(
        select(Submission).where(
            Submission.task_id == task.id,
            Submission.id.not_in(graded),
            Submission.id.not_in(active),
        )
    ).all()
    return [new_job(session, s, task) for s in subs]
