"""Cohorts: created and configured by operators; ranked and exported for reviewers."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import accounts
from api.attempts import refresh_deadlines
from api.deps import (
    CurrentOperator,
    CurrentReviewer,
    Principal,
    RowId,
    ServicesDep,
    SessionDep,
)
from api.models import Applicant, Cohort, CohortTask, Submission
from api.reviewing import Independence, audit, ranking
from api.schemas import CohortIn, CohortPublic, CohortUpdate, RankPublic
from api.scoring import DEFAULT_WEIGHTS
from api.views import applicant_label, independence, page

router = APIRouter(tags=["cohorts"])


def get_cohort(db: Session, cohort_id: int) -> Cohort:
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such cohort")
    return cohort


def budgets(db: Session, cohort_id: int) -> dict[str, int | None]:
    """Each task of the cohort with its time budget in minutes (None: untimed)."""
    rows = db.execute(
        select(CohortTask.task_id, CohortTask.time_budget_minutes)
        .where(CohortTask.cohort_id == cohort_id)
        .order_by(CohortTask.task_id)
    )
    return {tid: minutes for tid, minutes in rows}


def public(db: Session, c: Cohort) -> CohortPublic:
    return CohortPublic(
        id=c.id,
        name=c.name,
        blind=c.blind,
        weights={k: float(v) for k, v in c.weights.items()},
        tasks=accounts.cohort_task_ids(db, c.id),
        opens_at=c.opens_at,
        closes_at=c.closes_at,
        grace_minutes=c.grace_minutes,
        late_policy=c.late_policy,
        regrade_days=c.regrade_days,
        judge_mode=c.judge_mode,
        time_budgets=budgets(db, c.id),
        results_released_at=c.results_released_at,
    )


def snapshot(db: Session, c: Cohort) -> dict[str, Any]:
    """A cohort's settings as plain JSON, for the audit log's before and after."""
    return {
        "cohort": c.name,
        "blind": c.blind,
        "weights": {k: float(v) for k, v in c.weights.items()},
        "tasks": accounts.cohort_task_ids(db, c.id),
        "opens_at": c.opens_at.isoformat() if c.opens_at else None,
        "closes_at": c.closes_at.isoformat() if c.closes_at else None,
        "grace_minutes": c.grace_minutes,
        "late_policy": c.late_policy,
        "regrade_days": c.regrade_days,
        "judge_mode": c.judge_mode,
        "time_budgets": budgets(db, c.id),
    }


def configure(db: Session, cohort: Cohort, body: CohortUpdate | CohortIn) -> None:
    """Apply the settings `body` sends to `cohort` (flushed; the caller commits).

    The one place both the JSON API and the console's form change a cohort, so both refuse
    the same things with the same words.

    Raises:
        accounts.AccountError: an unknown task, a budget for a task not in the cohort, or a
            window that closes before it opens.
    """
    if body.blind is not None:
        cohort.blind = body.blind
    if body.weights is not None and (isinstance(body, CohortUpdate) or body.weights):
        cohort.weights = dict(body.weights)
    if body.tasks is not None:
        accounts.set_tasks(db, cohort, body.tasks)
    if isinstance(body, CohortUpdate) and body.clear_window:
        cohort.opens_at = cohort.closes_at = None
    if body.opens_at is not None:
        cohort.opens_at = body.opens_at.astimezone(UTC)
    if body.closes_at is not None:
        cohort.closes_at = body.closes_at.astimezone(UTC)
    if cohort.opens_at and cohort.closes_at and cohort.closes_at <= cohort.opens_at:
        raise accounts.AccountError("the window closes before it opens")
    for name in ("grace_minutes", "late_policy", "regrade_days", "judge_mode"):
        value = getattr(body, name)
        if value is not None:
            setattr(cohort, name, value)
    if body.time_budgets:
        rows = {
            ct.task_id: ct
            for ct in db.scalars(select(CohortTask).where(CohortTask.cohort_id == cohort.id))
        }
        for tid, minutes in body.time_budgets.items():
            if tid not in rows:
                raise accounts.AccountError(f"task {tid!r} is not one of the cohort's tasks")
            rows[tid].time_budget_minutes = minutes
    db.flush()


def actor(who: Principal) -> str:
    assert who.user is not None
    return f"{who.user.role}:{who.user.username}"


@router.get("/api/v1/cohorts", response_model=list[CohortPublic])
def list_cohorts(who: CurrentReviewer, db: SessionDep) -> list[CohortPublic]:
    """Every cohort with its tasks, weights, review mode, window and late policy."""
    return [public(db, c) for c in db.scalars(select(Cohort).order_by(Cohort.id))]


def create(db: Session, body: CohortIn, who: Principal) -> Cohort:
    """Create a cohort with its settings, audited (blind review on by default).

    Raises:
        accounts.AccountError: a name already taken, or what :func:`configure` refuses.
    """
    if db.scalar(select(Cohort.id).where(Cohort.name == body.name)) is not None:
        raise accounts.AccountError("a cohort with that name exists")
    cohort = Cohort(name=body.name, blind=body.blind, weights=body.weights or dict(DEFAULT_WEIGHTS))
    db.add(cohort)
    db.flush()  # a name taken meanwhile: IntegrityError, answered as the same conflict
    configure(db, cohort, body)
    audit(db, actor=actor(who), action="cohort-create", submission_id=None, before={},
          after=snapshot(db, cohort))  # fmt: skip
    return cohort


def update(db: Session, cohort: Cohort, body: CohortUpdate, who: Principal) -> None:
    """Change a cohort's settings; the audit entry holds them before and after."""
    before = snapshot(db, cohort)
    configure(db, cohort, body)
    after = snapshot(db, cohort)
    if after != before:
        audit(db, actor=actor(who), action="cohort-settings", submission_id=None,
              before=before, after=after)  # fmt: skip
        # A new window, grace or budget moves deadlines already started: keep the stored
        # ones (listings, reminders) in step with what uploads are checked against.
        db.flush()
        ids = list(db.scalars(select(Applicant.id).where(Applicant.cohort_id == cohort.id)))
        refresh_deadlines(db, ids)


@router.post("/api/v1/cohorts", response_model=CohortPublic, status_code=201)
def create_cohort(body: CohortIn, who: CurrentOperator, db: SessionDep) -> CohortPublic:
    """Create a cohort (blind review on by default), assign its tasks, set its window."""
    try:
        cohort = create(db, body, who)
    except IntegrityError:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "a cohort with that name exists") from None
    except accounts.AccountError as e:
        db.rollback()
        code = 409 if "exists" in str(e) else status.HTTP_422_UNPROCESSABLE_CONTENT
        raise HTTPException(code, str(e)) from None
    db.commit()
    return public(db, cohort)


@router.patch("/api/v1/cohorts/{cohort_id}", response_model=CohortPublic)
def update_cohort(
    cohort_id: RowId, body: CohortUpdate, who: CurrentOperator, db: SessionDep
) -> CohortPublic:
    """Change blind review, weights, tasks, the window (``opens_at``/``closes_at`` with an
    offset; ``clear_window``), grace, late policy, regrade days, judge mode or the tasks'
    time budgets. Only what is sent changes; every change is audited."""
    cohort = get_cohort(db, cohort_id)
    try:
        update(db, cohort, body, who)
    except accounts.AccountError as e:
        db.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    return public(db, cohort)


def ranked(
    db: Session, secret: bytes, cohort: Cohort, who: Principal, view: Independence
) -> list[RankPublic]:
    out = []
    for i, r in enumerate(ranking(db, cohort, view), start=1):
        applicant = db.get(Applicant, r.applicant_id)
        assert applicant is not None
        out.append(
            RankPublic(
                rank=i,
                applicant=applicant_label(secret, applicant, cohort, who),
                composite=round(r.composite, 6),
                provisional=r.provisional,
                integrity_flag=r.integrity_flag,
                tasks=r.tasks,
            )
        )
    return out


@router.get("/api/v1/cohorts/{cohort_id}/ranking", response_model=list[RankPublic])
def cohort_ranking(
    cohort_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> list[RankPublic]:
    """Applicants by composite score (the cohort's weights), best first."""
    return ranked(db, services.secret, get_cohort(db, cohort_id), who, independence(db, who))


@router.get("/api/v1/cohorts/{cohort_id}/export.csv", response_class=Response)
def export_csv(
    cohort_id: RowId,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    superseded: bool = False,
) -> Response:
    """One row per applicant and task: the counted submission (the last one received), with
    scores, tiers and flags; pseudonyms in blind cohorts.

    ``?superseded=true`` adds the earlier submissions too, marked ``counted=False``; their
    rank and composite columns stay empty, since only counted submissions are ranked.
    """
    cohort = get_cohort(db, cohort_id)
    view = independence(db, who)
    ranks = {r.applicant: r for r in ranked(db, services.secret, cohort, who, view)}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "applicant", "rank", "composite", "provisional", "task", "submission", "status",
            "score", "max_score", "manual_frac", "task_score", "tier", "reviews",
            "integrity_flag", "disagreement", "received_at", "counted",
        ]
    )  # fmt: skip
    query = select(Submission).where(Submission.cohort_id == cohort.id)
    if not superseded:
        query = query.where(Submission.counted.is_(True))
    for s in db.scalars(query.order_by(Submission.id)):
        label = applicant_label(services.secret, s.applicant, cohort, who)
        r = ranks.get(label) if s.counted else None
        seen = view.summary(s)
        w.writerow(
            [
                csv_safe(label), r.rank if r else "", f"{r.composite:.4f}" if r else "",
                r.provisional if r else "", s.task_id, s.id, s.status,
                _fmt(s.score), _fmt(s.max_score), _fmt(seen["manual_frac"]),
                _fmt(seen["task_score"]), seen["tier"] or "", s.review_count,
                seen["integrity_flag"], seen["disagreement"],
                s.received_at.isoformat(timespec="seconds"), s.counted,
            ]
        )  # fmt: skip
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cohort-{cohort.id}.csv"'},
    )


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}".rstrip("0").rstrip(".")


def csv_safe(value: str) -> str:
    """Keep spreadsheet formulas out of exports (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@router.get("/review/cohorts/{cohort_id}", response_class=HTMLResponse, include_in_schema=False)
def cohort_page(
    cohort_id: RowId, request: Request, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    cohort = get_cohort(db, cohort_id)
    return page(
        request,
        "cohort.html.j2",
        who,
        cohort=public(db, cohort),
        ranking=ranked(db, services.secret, cohort, who, independence(db, who)),
    )
