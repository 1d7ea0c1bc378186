"""Regrade requests: an applicant asks once per task, within the window after release;
an operator accepts (the automatic grading runs again) or declines, with a response.

Why accepting does not always run the grader: a report is stored once per (submission,
task digest), and grading is keyed that way because the same task version run on the same
submission gives the same result. When the task has changed since the counted report (an
operator fixed a check and reloaded the task), accepting queues a new grading through the
ordinary job path, and the applicant later sees what changed. When it has not, running it
again cannot change the outcome, and the applicant is told exactly that.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.grading import new_job
from api.models import (
    Applicant,
    Cohort,
    CohortTask,
    Grading,
    Job,
    RegradeRequest,
    Submission,
    TaskRow,
    utcnow,
)
from api.notifications import queue_message
from api.reviewing import audit
from api.views import applicant_checks
from grader.report import Report

MAX_REASON = 2000
MAX_RESPONSE = 2000


class RegradeError(ValueError):
    """A request or resolution refused, with a one-line reason and an HTTP status."""

    def __init__(self, message: str, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


def closes_at(cohort: Cohort, released_at: datetime | None = None) -> datetime | None:
    """When the regrade window closes: `regrade_days` whole days after release (None
    while nothing is released). `released_at` stands in for the release when previewing."""
    start = cohort.results_released_at or released_at
    if start is None:
        return None
    return start + timedelta(days=cohort.regrade_days)


def window_open(
    cohort: Cohort, now: datetime | None = None, released_at: datetime | None = None
) -> bool:
    """Whether a request may be made at `now`: up to and including `regrade_days` after release."""
    end = closes_at(cohort, released_at)
    return end is not None and (now or utcnow()) <= end


def counted_submission(db: Session, applicant: Applicant, task_id: str) -> Submission | None:
    return db.scalar(
        select(Submission).where(
            Submission.applicant_id == applicant.id,
            Submission.task_id == task_id,
            Submission.counted.is_(True),
        )
    )


def create(
    db: Session, applicant: Applicant, task_id: str, reason: str, now: datetime | None = None
) -> RegradeRequest:
    """Record an applicant's request for `task_id` (the caller commits). Raises RegradeError."""
    cohort = applicant.cohort
    reason = reason.strip()
    if db.get(CohortTask, (cohort.id, task_id)) is None:
        raise RegradeError(f"Task: {task_id[:64]!r} is not one of your tasks", 404)
    if cohort.results_released_at is None:
        raise RegradeError("Results are not released yet: there is nothing to regrade", 409)
    if not window_open(cohort, now):
        end = closes_at(cohort)
        assert end is not None
        raise RegradeError(f"Regrade requests closed on {end:%Y-%m-%d %H:%M} UTC", 409)
    if not reason:
        raise RegradeError("Reason: required (say what you think was graded wrongly)")
    if len(reason) > MAX_REASON:
        raise RegradeError(f"Reason: longer than {MAX_REASON} characters")
    sub = counted_submission(db, applicant, task_id)
    if sub is None or sub.grading_id is None:
        raise RegradeError("Task: there is no graded submission of yours to regrade", 409)
    existing = db.scalar(
        select(RegradeRequest.id).where(
            RegradeRequest.applicant_id == applicant.id, RegradeRequest.task_id == task_id
        )
    )
    if existing is not None:
        raise RegradeError("Task: you have already asked for a regrade of this task", 409)
    req = RegradeRequest(
        applicant_id=applicant.id,
        task_id=task_id,
        submission_id=sub.id,
        reason=reason,
        status="open",
        response="",
        resolved_by="",
        grading_before_id=sub.grading_id,
    )
    db.add(req)
    db.flush()
    audit(
        db,
        actor=f"applicant:{applicant.id}",
        action="regrade-request",
        submission_id=sub.id,
        before={},
        after={"request_id": req.id, "task_id": task_id, "status": "open"},
    )
    return req


@dataclass(frozen=True)
class Resolution:
    request: RegradeRequest
    job: Job | None  # a grading to enqueue once committed (the task changed since)


def resolve(
    db: Session, req: RegradeRequest, *, accept: bool, response: str, actor: str, base_url: str
) -> Resolution:
    """Accept or decline an open request with a response (required); audited, and a
    "regrade" message is queued for the applicant. The caller commits, then enqueues `job`."""
    response = response.strip()
    if req.status != "open":
        raise RegradeError(f"Request {req.id}: already {req.status}", 409)
    if not response:
        raise RegradeError("Response: required (the applicant reads it)")
    if len(response) > MAX_RESPONSE:
        raise RegradeError(f"Response: longer than {MAX_RESPONSE} characters")
    sub = db.get(Submission, req.submission_id)
    task = db.get(TaskRow, req.task_id)
    applicant = db.get(Applicant, req.applicant_id)
    assert sub is not None and task is not None and applicant is not None
    job: Job | None = None
    if accept:
        current = db.get(Grading, sub.grading_id) if sub.grading_id else None
        if current is not None and current.task_digest == task.digest:
            # Same task, same submission: the stored report is what a run would give.
            req.grading_after_id = current.id
        else:
            job = new_job(db, sub, task)
    req.status = "accepted" if accept else "declined"
    req.response = response
    req.resolved_by = actor
    req.resolved_at = utcnow()
    audit(
        db,
        actor=actor,
        action="regrade-resolve",
        submission_id=sub.id,
        before={"request_id": req.id, "status": "open"},
        after={
            "request_id": req.id,
            "status": req.status,
            "job_id": job.id if job else None,
            "grading_after_id": req.grading_after_id,
        },
    )
    word = "accepted" if accept else "declined"
    queue_message(
        db,
        kind="regrade",
        to=applicant.email,
        subject=f"Your regrade request for {task.title} was {word}",
        body=(
            f"Your regrade request for {task.title} was {word}.\n\n"
            f"Read the response and the outcome on your results page: "
            f"{base_url.rstrip('/')}/portal/results\n"
        ),
        applicant_id=applicant.id,
        cohort_id=applicant.cohort_id,
        dedup_key=f"regrade:{req.id}",
    )
    return Resolution(request=req, job=job)


def _report(db: Session, grading_id: int | None) -> Report | None:
    g = db.get(Grading, grading_id) if grading_id else None
    return Report.model_validate(json.loads(g.report_json)) if g else None


def after_id(db: Session, req: RegradeRequest) -> int | None:
    """The grading after an accepted request: stored, or the submission's newer grading once
    the queued one has landed (read, not written: a GET changes nothing)."""
    if req.grading_after_id is not None or req.status != "accepted":
        return req.grading_after_id
    sub = db.get(Submission, req.submission_id)
    if sub is not None and sub.grading_id not in (None, req.grading_before_id):
        return sub.grading_id
    return None


def visible_differences(db: Session, req: RegradeRequest) -> list[dict[str, Any]] | None:
    """Applicant-visible checks whose score changed between the gradings before and after
    (None while the new grading is pending). Hidden checks never appear, changed or not."""
    after = after_id(db, req)
    if after is None:
        return None
    before = {c["id"]: c for c in applicant_checks(_report(db, req.grading_before_id))}
    now = {c["id"]: c for c in applicant_checks(_report(db, after))}
    out = []
    for cid in sorted(before.keys() | now.keys()):
        b, a = before.get(cid), now.get(cid)
        if (b or {}).get("score") != (a or {}).get("score"):
            out.append(
                {
                    "check": (a or b or {}).get("name", cid),
                    "before": None if b is None else b["score"],
                    "after": None if a is None else a["score"],
                    "max_score": (a or b or {}).get("max_score"),
                }
            )
    return out


def outcome(db: Session, req: RegradeRequest) -> str:
    """The outcome in the applicant's words (the operator's response is shown beside it)."""
    if req.status == "open":
        return "Your request is with the programme team."
    if req.status == "declined":
        return "Your request was declined."
    after = after_id(db, req)
    if after is None:
        return "Your request was accepted: your submission is being graded again."
    if after == req.grading_before_id:
        return (
            "Your request was accepted. The automatic checks had already run on this version "
            "of the task, and they give the same result for the same task and submission, so "
            "running them again would not change it: your result stands."
        )
    diffs = visible_differences(db, req) or []
    if not diffs:
        return (
            "Your request was accepted and your submission graded again: "
            "no check you can see changed."
        )
    return "Your request was accepted and your submission graded again: the changes are below."


def public(db: Session, req: RegradeRequest) -> dict[str, Any]:
    """A request as its applicant may see it (the same fields for the page and the JSON)."""
    return {
        "id": req.id,
        "task_id": req.task_id,
        "status": req.status,
        "reason": req.reason,
        "response": req.response,
        "created_at": req.created_at,
        "resolved_at": req.resolved_at,
        "outcome": outcome(db, req),
        "differences": visible_differences(db, req) if req.status == "accepted" else None,
    }
