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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from api import catalog
from api.jobs import LEASE, MAX_ATTEMPTS, Outcome, claim, graded_name, new_job
from api.judging import QUEUE as JUDGE_QUEUE
from api.judging import new_judge_job, run_judge_job, wants_judging
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

    A job of the judge's queue is run by :func:`api.judging.run_judge_job`, whoever got it."""
    with services.sessions() as session:
        if session.scalar(select(Job.queue).where(Job.id == job_id)) == JUDGE_QUEUE:
            return Outcome(run_judge_job(services, job_id))
    with span("service.claim"):
        claimed = claim(services, job_id)
    if claimed is not None:
        return claimed
    t0 = time.monotonic()
    with services.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None
        sub = session.get(Submission, job.submission_id)
        assert sub is not None
        task_row = session.get(TaskRow, sub.task_id)
        assert task_row is not None
        attempts, sub_id, root = job.attempts, sub.id, task_row.root
        blob, filename = sub.blob_sha256, sub.filename
        suffix = Path(filename).suffix.lower()
    try:
        with span("service.task"):
            task = catalog.load(root)
            digest = task.digest
            graded = _already_graded(services, sub_id, digest)
        if graded:
            _finish(services, job_id, "done", "")
            return Outcome.done
        with span("service.blob"):
            path = services.blobs.open_verified(blob, suffix)
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
        log.warning("job %s attempt %s failed: %s", job_id, attempts, why)
        if attempts >= MAX_ATTEMPTS:
            _finish(services, job_id, "failed", why, submission_status="error")
            return Outcome.failed
        _finish(services, job_id, "queued", why)
        return Outcome.retry
    # The database may refuse for a while (SQLite locked past its busy timeout, PostgreSQL
    # restarting): each write is one transaction, so a failed one left nothing; try again.
    with span("service.write_result"):
        _persist(
            lambda: write_result(services, sub_id, report, actor=f"worker:{services.worker_name}")
        )
    with span("service.finish"):
        _persist(lambda: _finish(services, job_id, "done", ""))
    judging: list[int | None] = []
    with span("service.judging"):
        _persist(lambda: judging.append(queue_judging(services, sub_id, report.status.value)))
    if judging and judging[-1] is not None and services.queue is not None:
        services.queue.enqueue(judging[-1], JUDGE_QUEUE)
    log.info("job %s graded %s in %.1fs", job_id, report.status.value, time.monotonic() - t0)
    return Outcome.done


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
        sub = session.get(Submission, sub_id)
        if sub is None or not wants_judging(session, sub, status):
            return None
        job = new_judge_job(session, sub)
        return job.id if job is not None else None


def _already_graded(services: Services, sub_id: int, digest: str) -> bool:
    with services.sessions() as session:
        existing = session.scalar(
            select(Grading).where(Grading.submission_id == sub_id, Grading.task_digest == digest)
        )
        return existing is not None and existing.status != "error"


def _finish(
    services: Services, job_id: int, state: str, error: str, submission_status: str | None = None
) -> None:
    with services.sessions() as session, session.begin():
        job = session.get(Job, job_id)
        assert job is not None
        job.state = state
        job.error = error[:2000]
        job.finished_at = utcnow() if state in ("done", "failed") else None
        sub = session.get(Submission, job.submission_id)
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


def write_result(services: Services, sub_id: int, report: Report, *, actor: str) -> int:
    """Store `report` for the submission (idempotent per task digest); return the grading id."""
    doc = report.to_json()
    try:
        with services.sessions() as session, session.begin():
            sub = session.get(Submission, sub_id, with_for_update=True)
            assert sub is not None
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
    except IntegrityError:  # another worker wrote the same (submission, digest) first
        with services.sessions() as session:
            gid = session.scalar(
                select(Grading.id).where(
                    Grading.submission_id == sub_id, Grading.task_digest == report.task.digest
                )
            )
            assert gid is not None
            return gid


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
