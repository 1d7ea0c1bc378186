"""Releasing a cohort's results, and what an applicant may see of theirs.

Nothing of the outcome reaches applicants before an operator releases the cohort:
:func:`results_for` is the one rule for the results page and its JSON, and before release
it says only that. After release an applicant sees their stage in words (the decision, or
"under review"), per task the counted submission's applicant-visible checks, the feedback
message, and their regrade requests; never hidden checks, reviewers' notes, rubric scores,
ranks or anyone else.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import regrades
from api.models import Applicant, Cohort, CohortTask, RegradeRequest, TaskRow, utcnow
from api.notifications import queue_message
from api.reviewing import audit
from api.stages import DECISIONS, stage_of, stages
from api.views import applicant_checks, current_report


class ReleaseError(ValueError):
    """Releasing what is released, or withdrawing what is not (one line)."""


def local_time(when: datetime | None, zone: str) -> str:
    """A UTC time as the applicant reads it, in their time zone, naming the zone."""
    if when is None:
        return ""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    return f"{when.astimezone(tz):%Y-%m-%d %H:%M} {zone}"


def words(stage: str) -> str:
    """The stage an applicant reads: a decision, or "under review" for anything before one."""
    return stage if stage in DECISIONS else "under review"


def preview(db: Session, cohort: Cohort) -> dict[str, Any]:
    """What a release would show: applicants per stage, and how many messages would go."""
    by_stage = Counter(stages(db, cohort).values())
    return {
        "applicants": sum(by_stage.values()),
        "by_stage": dict(sorted(by_stage.items())),
        "by_words": dict(sorted(_words(by_stage).items())),
    }


def _words(by_stage: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for k, n in by_stage.items():
        out[words(k)] += n
    return out


def release(db: Session, cohort: Cohort, *, actor: str, base_url: str) -> int:
    """Release the cohort's results (audited) and queue one "results" message per applicant;
    returns how many were queued. A message goes once per applicant and cohort, so a
    release withdrawn and made again sends nothing twice. The caller commits."""
    if cohort.results_released_at is not None:
        raise ReleaseError(f"Results of {cohort.name} are already released")
    cohort.results_released_at = utcnow()
    cohort.results_released_by = actor
    audit(
        db, actor=actor, action="release", submission_id=None,
        before={"cohort_id": cohort.id, "released_at": None},
        after={"cohort_id": cohort.id, "released_at": cohort.results_released_at.isoformat()},
    )  # fmt: skip
    queued = 0
    link = f"{base_url.rstrip('/')}/portal/results"
    for a in db.scalars(select(Applicant).where(Applicant.cohort_id == cohort.id)):
        # No score, stage or decision in mail: the portal shows them to the signed-in applicant.
        msg = queue_message(
            db,
            kind="results",
            to=a.email,
            subject=f"Your results for {cohort.name} are available",
            body=(
                f"Hello{' ' + a.name if a.name else ''},\n\n"
                f"The results of {cohort.name} are available. Open your invitation link and "
                f"go to Results: {link}\n"
            ),
            applicant_id=a.id,
            cohort_id=cohort.id,
            dedup_key=f"results:{cohort.id}:{a.id}",
        )
        queued += msg is not None
    return queued


def withdraw(db: Session, cohort: Cohort, *, actor: str) -> None:
    """Hide the results again (audited). Messages already queued or sent are not recalled."""
    if cohort.results_released_at is None:
        raise ReleaseError(f"Results of {cohort.name} are not released")
    audit(
        db, actor=actor, action="release-withdraw", submission_id=None,
        before={"cohort_id": cohort.id, "released_at": cohort.results_released_at.isoformat()},
        after={"cohort_id": cohort.id, "released_at": None},
    )  # fmt: skip
    cohort.results_released_at = None
    cohort.results_released_by = ""


def results_for(
    db: Session, applicant: Applicant, now: datetime | None = None, *, preview_as: bool = False
) -> dict[str, Any]:
    """What `applicant` may see of their results: the one rule for the page and the JSON.

    `preview_as`: the view as it would be once released (the operator's release preview);
    never set for an applicant's own request.
    """
    cohort = applicant.cohort
    zone = applicant.timezone or "UTC"
    out: dict[str, Any] = {
        "cohort": cohort.name,
        "released": cohort.results_released_at is not None or preview_as,
        "released_at": None,
        "stage": None,
        "feedback": None,
        "tasks": [],
        "regrade_days": None,
        "regrade_open": False,
        "regrade_closes_at": None,
        "regrade_closes_local": "",
    }
    released_at = cohort.results_released_at or (utcnow() if preview_as else None)
    if released_at is None:
        return out
    end = regrades.closes_at(cohort, released_at)
    requests = {
        r.task_id: r
        for r in db.scalars(
            select(RegradeRequest).where(RegradeRequest.applicant_id == applicant.id)
        )
    }
    tasks = db.scalars(
        select(TaskRow)
        .join(CohortTask, CohortTask.task_id == TaskRow.id)
        .where(CohortTask.cohort_id == cohort.id)
        .order_by(TaskRow.id)
    )
    open_now = regrades.window_open(cohort, now, released_at)
    for t in tasks:
        sub = regrades.counted_submission(db, applicant, t.id)
        req = requests.get(t.id)
        out["tasks"].append(
            {
                "task_id": t.id,
                "title": t.title,
                "submission_id": sub.id if sub else None,
                "received_at": sub.received_at if sub else None,
                "received_local": local_time(sub.received_at, zone) if sub else "",
                "checks": applicant_checks(current_report(db, sub)) if sub else [],
                "regrade": regrades.public(db, req) if req else None,
                "can_request": open_now
                and req is None
                and sub is not None
                and sub.grading_id is not None,
            }
        )
    out.update(
        released_at=released_at,
        stage=words(stage_of(db, applicant)),
        feedback=applicant.feedback,
        regrade_days=cohort.regrade_days,
        regrade_open=open_now,
        regrade_closes_at=end,
        regrade_closes_local=local_time(end, zone),
    )
    return out
