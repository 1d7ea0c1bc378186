"""Windows and timed attempts: Start (API, and the portal's confirmation), and the
extensions operators grant (API and the cohort's extensions page).

Start is idempotent: pressing it again returns the attempt already running. An extension
needs a reason, is audited with the deadlines before and after, and rewrites the stored
deadlines of the applicant's attempts (:func:`api.attempts.grant`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import attempts, deadlines
from api.deps import CurrentApplicant, CurrentOperator, Principal, RowId, SessionDep
from api.models import Applicant, Cohort, Extension
from api.routes.applicants import AttemptPublic, _assigned, _me, attempt_public
from api.routes.cohorts import get_cohort
from api.tasklist import assigned_tasks
from api.views import page

router = APIRouter(tags=["attempts"])


class ExtensionIn(BaseModel):
    minutes: int = Field(ge=1, le=attempts.MAX_EXTENSION_MINUTES)
    task_id: str | None = Field(default=None, description="one task; omitted: every task")
    past_close: bool = Field(default=False, description="may end after the cohort's close")
    reason: str = Field(min_length=1, max_length=2000)


class ExtensionOut(BaseModel):
    id: int
    task_id: str | None
    minutes: int
    past_close: bool
    reason: str
    granted_by: str
    created_at: datetime


class TaskDeadline(BaseModel):
    task_id: str
    timed: bool
    started_at: datetime | None
    deadline_at: datetime | None


class ApplicantDeadlines(BaseModel):
    applicant_id: int
    timezone: str
    extensions: list[ExtensionOut]
    tasks: list[TaskDeadline]


def _actor(who: Principal) -> str:
    assert who.user is not None
    return f"{who.user.role}:{who.user.username}"


def _deadlines(db: Session, applicant: Applicant) -> ApplicantDeadlines:
    exts = db.scalars(
        select(Extension).where(Extension.applicant_id == applicant.id).order_by(Extension.id)
    )
    tasks = []
    for t in assigned_tasks(db, applicant):
        d = attempts.due(db, applicant, t)
        tasks.append(TaskDeadline(task_id=t.id, timed=d.timed, started_at=d.started_at,
                                  deadline_at=d.deadline_at))  # fmt: skip
    return ApplicantDeadlines(
        applicant_id=applicant.id,
        timezone=applicant.timezone,
        extensions=[ExtensionOut.model_validate(e, from_attributes=True) for e in exts],
        tasks=tasks,
    )


def _applicant(db: Session, applicant_id: int) -> Applicant:
    a = db.get(Applicant, applicant_id)
    if a is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant")
    return a


# ----------------------------------------------------------------------------- applicants


@router.post(
    "/api/v1/me/tasks/{task_id}/start",
    response_model=AttemptPublic,
    status_code=201,
    responses={200: {"description": "already started: the attempt as it is"}},
)
def start_task(
    task_id: str, who: CurrentApplicant, db: SessionDep, response: Response
) -> AttemptPublic:
    """Start a timed task: the clock runs from now and cannot be paused. Idempotent."""
    a = _me(who)
    task = _assigned(db, a, task_id)
    existed = attempts.attempt_of(db, a.id, task.id) is not None
    try:
        attempts.start(db, a, task)
    except attempts.AttemptError as e:
        raise HTTPException(e.status_code, str(e)) from None
    db.commit()
    if existed:
        response.status_code = status.HTTP_200_OK
    return attempt_public(attempts.due(db, a, task))


@router.get("/portal/tasks/{task_id}/start", response_class=HTMLResponse, include_in_schema=False)
def confirm_start(
    task_id: str, request: Request, who: CurrentApplicant, db: SessionDep
) -> Response:
    """What Start begins (budget, grace, the deadline in their zone; no pause), and Start."""
    a = _me(who)
    task = _assigned(db, a, task_id)
    standing = attempts.due(db, a, task)
    if not standing.needs_start:  # untimed, or started already: nothing to confirm
        return RedirectResponse(f"/portal#task-{task.id}", status_code=303)
    if not standing.can_start:  # outside the window: say why, offer no Start button
        try:
            attempts.start(db, a, task)
        except attempts.AttemptError as e:
            db.rollback()
            return _confirm(request, who, task_id=task.id, db=db, error=str(e), code=409)
    return _confirm(request, who, task_id=task.id, db=db)


def _confirm(
    request: Request, who: Principal, *, task_id: str, db: Session, error: str = "", code: int = 200
) -> HTMLResponse:
    a = _me(who)
    task = _assigned(db, a, task_id)
    standing = attempts.due(db, a, task)
    resp = page(
        request,
        "instructions.html.j2",
        who,
        task=task,
        body=None,
        due=standing,
        confirm=True,
        error=error,
        planned=standing.planned_deadline(),
        at=deadlines.in_zone,
        duration=deadlines.duration,
    )
    resp.status_code = code
    return resp


@router.post("/portal/tasks/{task_id}/start", include_in_schema=False, response_model=None)
def start_form(task_id: str, request: Request, who: CurrentApplicant, db: SessionDep) -> Response:
    a = _me(who)
    task = _assigned(db, a, task_id)
    try:
        attempts.start(db, a, task)
    except attempts.AttemptError as e:
        db.rollback()
        return _confirm(request, who, task_id=task.id, db=db, error=str(e), code=e.status_code)
    db.commit()
    return RedirectResponse(f"/portal?started={task.id}#task-{task.id}", status_code=303)


# ----------------------------------------------------------------------------- operators


@router.get("/api/v1/applicants/{applicant_id}/extensions", response_model=ApplicantDeadlines)
def list_extensions(
    applicant_id: RowId, who: CurrentOperator, db: SessionDep
) -> ApplicantDeadlines:
    """An applicant's extensions and the deadline of each of their tasks (UTC)."""
    return _deadlines(db, _applicant(db, applicant_id))


@router.post(
    "/api/v1/applicants/{applicant_id}/extensions",
    response_model=ApplicantDeadlines,
    status_code=201,
)
def grant_extension(
    applicant_id: RowId, body: ExtensionIn, who: CurrentOperator, db: SessionDep
) -> ApplicantDeadlines:
    """Grant extra minutes (one task, or all); the reason is required and audited."""
    a = _applicant(db, applicant_id)
    try:
        attempts.grant(db, a, minutes=body.minutes, task_id=body.task_id,
                       past_close=body.past_close, reason=body.reason, by=_actor(who))  # fmt: skip
    except attempts.AttemptError as e:
        raise HTTPException(e.status_code, str(e)) from None
    db.commit()
    return _deadlines(db, a)


def _extensions_page(
    request: Request,
    who: Principal,
    db: Session,
    cohort: Cohort,
    *,
    error: str = "",
    message: str = "",
    form: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    rows = attempts.cohort_rows(db, cohort)
    resp = page(
        request,
        "extensions.html.j2",
        who,
        cohort=cohort,
        rows=rows,
        applicants=list({r.applicant.id: r.applicant for r in rows}.values()),
        tasks=sorted({r.task_id for r in rows}),
        error=error,
        message=message,
        form=form or {"applicant": request.query_params.get("applicant", "")},
        at=deadlines.in_zone,
        iso=deadlines.iso_utc,
        duration=deadlines.duration,
        max_minutes=attempts.MAX_EXTENSION_MINUTES,
    )
    resp.status_code = code
    return resp


@router.get(
    "/admin/cohorts/{cohort_id}/extensions", response_class=HTMLResponse, include_in_schema=False
)
def extensions_page(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    """Each applicant's attempts and deadlines in the cohort, and the form to extend one."""
    return _extensions_page(request, who, db, get_cohort(db, cohort_id))


@router.post(
    "/admin/cohorts/{cohort_id}/extensions", response_class=HTMLResponse, include_in_schema=False
)
def extensions_form(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    applicant: Annotated[str, Form()] = "",
    task: Annotated[str, Form()] = "",
    minutes: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    past_close: Annotated[str, Form()] = "",
) -> HTMLResponse:
    cohort = get_cohort(db, cohort_id)
    sent = {"applicant": applicant, "task": task, "minutes": minutes, "reason": reason,
            "past_close": past_close}  # fmt: skip
    target = None
    if applicant.isdigit():
        target = db.get(Applicant, int(applicant))
    try:
        if target is None or target.cohort_id != cohort.id:
            raise attempts.AttemptError("applicant: choose an applicant of this cohort", 422)
        if not minutes.strip().isdigit():
            raise attempts.AttemptError(
                f"minutes: give a whole number from 1 to {attempts.MAX_EXTENSION_MINUTES}", 422
            )
        attempts.grant(db, target, minutes=int(minutes), task_id=task or None,
                       past_close=bool(past_close), reason=reason, by=_actor(who))  # fmt: skip
    except attempts.AttemptError as e:
        db.rollback()
        return _extensions_page(request, who, db, cohort, error=str(e), form=sent, code=422)
    db.commit()
    what = f"{task}" if task else "every task"
    who_ = target.name or target.email
    return _extensions_page(
        request, who, db, cohort, message=f"Extended {who_} by {minutes} min on {what}."
    )
