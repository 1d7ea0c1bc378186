"""The applicant portal: invitation links, assigned tasks, kits, uploads, status, receipts.

An applicant sees only their own submissions (anything else is a 404, the same as a
submission that does not exist) and, once the cohort's results are released, only checks
whose visibility is ``applicant``; before the release only what was received and whether it
is being checked (:func:`released`, the one rule for the portal, the API and receipts).

Their tasks are the cohort's plus the follow-up tasks of streams that shortlisted them
(:func:`assigned_tasks`). A timed task's instructions and kit open with Start: reading them
is part of the time measured.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO, TypeVar

import anyio
from fastapi import APIRouter, File, Form, HTTPException, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import accounts, catalog, deadlines
from api.attempts import Due, due, grants_of
from api.deps import CurrentApplicant, Principal, RowId, ServicesDep, SessionDep
from api.models import (
    Applicant,
    Cohort,
    CohortTask,
    Submission,
    TaskRow,
    utcnow,
)
from api.routes.auth import set_cookie
from api.schemas import ApplicantTask, MePublic, ReceivedPublic
from api.services import Services
from api.tasklist import assigned_tasks
from api.uploads import UploadRejected, receive
from api.views import applicant_checks, current_report, page
from api.waiting import Waiting, said, waiting
from grader.bundle import bundle
from grader.prepare import is_prepared
from grader.render import render_receipt
from grader.text import clean_text

router = APIRouter(tags=["applicants"])
_CHUNK = 1 << 20


def _me(who: Principal) -> Applicant:
    assert who.applicant is not None
    return who.applicant


class AttemptPublic(BaseModel):
    """An applicant's standing on one task: window, budget, Start, deadline (UTC)."""

    timed: bool
    time_budget_minutes: int | None
    grace_minutes: int
    extension_minutes: int
    window: str  # not_open | open | closed
    opens_at: datetime | None
    closes_at: datetime | None
    started_at: datetime | None
    deadline_at: datetime | None
    deadline_passed: bool
    late_policy: str
    start_url: str | None


class MyTask(ApplicantTask):
    follow_up: bool = False
    attempt: AttemptPublic


class MySubmission(ReceivedPublic):
    """A submission as its applicant sees it; `checks` stay empty until results are released."""

    state: str  # received | being checked | checked | could not be checked
    # While received (queued): the place in the grading queue (1 = next), a rough estimate
    # of the seconds until it is checked, and both in words.
    queue_position: int | None = None
    queue_estimate_s: int | None = None
    queue_said: str | None = None
    late: bool
    counted: bool
    results_released: bool


class MeApplicant(MePublic):
    timezone: str  # IANA name; every time in the API is UTC, this is how pages show them


class TimezoneIn(BaseModel):
    timezone: str


class TimezoneOut(BaseModel):
    timezone: str


_STATE = {"queued": "received", "running": "being checked", "error": "could not be checked"}


def released(db: Session, applicant: Applicant) -> bool:
    """Whether the applicant's cohort has released its results (checks become visible)."""
    cohort = db.get(Cohort, applicant.cohort_id)
    return cohort is not None and cohort.results_released_at is not None


def _assigned(db: Session, applicant: Applicant, task_id: str) -> TaskRow:
    for t in assigned_tasks(db, applicant):
        if t.id == task_id:
            return t
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such task for you")


def _own(db: Session, applicant: Applicant, submission_id: int) -> Submission:
    sub = db.get(Submission, submission_id)
    if sub is None or sub.applicant_id != applicant.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such submission")
    return sub


def _workers(services: Services) -> int | None:
    """In-process grading threads; None when Celery workers grade (counted from the jobs)."""
    return None if services.settings.broker_url else services.settings.workers


def _public(
    db: Session, sub: Submission, shown: bool | None = None, wait: Waiting | None = None
) -> MySubmission:
    """`shown`: whether results are released, when the caller knows it (one query less);
    `wait`: where it waits in the grading queue, if it does."""
    shown = released(db, sub.applicant) if shown is None else shown
    return MySubmission(
        queue_position=wait.position if wait else None,
        queue_estimate_s=wait.estimate_s if wait else None,
        queue_said=said(wait) if wait else None,
        id=sub.id,
        task_id=sub.task_id,
        filename=sub.filename,
        size=sub.size,
        sha256=sub.blob_sha256,
        received_at=sub.received_at,
        status=sub.status,
        checks=applicant_checks(current_report(db, sub)) if shown else [],
        receipt_url=f"/api/v1/me/submissions/{sub.id}/receipt",
        state=_STATE.get(sub.status, "checked"),
        late=sub.late,
        counted=sub.counted,
        results_released=shown,
    )


def attempt_public(d: Due) -> AttemptPublic:
    return AttemptPublic(
        timed=d.timed,
        time_budget_minutes=d.budget_minutes,
        grace_minutes=d.grace_minutes,
        extension_minutes=d.extra_minutes,
        window=d.window,
        opens_at=d.opens_at,
        closes_at=d.closes_at,
        started_at=d.started_at,
        deadline_at=d.deadline_at,
        deadline_passed=d.passed,
        late_policy=d.late_policy,
        start_url=f"/api/v1/me/tasks/{d.task_id}/start" if d.timed else None,
    )


def _task_public(t: TaskRow, d: Due, follow_up: bool) -> MyTask:
    return MyTask(
        id=t.id,
        title=t.title,
        kind=t.kind,
        version=t.version,
        max_score=t.max_score,
        has_rubric=bool(t.rubric),
        kit_url=f"/api/v1/me/tasks/{t.id}/kit",
        upload_url=f"/api/v1/me/tasks/{t.id}/submissions",
        follow_up=follow_up,
        attempt=attempt_public(d),
    )


def standings(db: Session, applicant: Applicant) -> list[tuple[TaskRow, Due, bool]]:
    """Each of the applicant's tasks with where they stand on it and whether it is a
    follow-up task; the grants are read once for all of them."""
    grants = grants_of(db, applicant.id)
    cohort_ids = set(
        db.scalars(select(CohortTask.task_id).where(CohortTask.cohort_id == applicant.cohort_id))
    )
    return [
        (t, due(db, applicant, t, grants=grants), t.id not in cohort_ids)
        for t in assigned_tasks(db, applicant)
    ]


def _opened(db: Session, applicant: Applicant, task: TaskRow) -> None:
    """A timed task's instructions and kit are not readable before Start (409)."""
    if due(db, applicant, task).needs_start:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{task.title} is timed: its instructions and kit open when you press Start",
        )


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _receive(
    services: Services,
    db: Session,
    who: Principal,
    task_id: str,
    file: UploadFile,
    received_at: datetime,
) -> tuple[Submission, bool]:
    task = _assigned(db, _me(who), task_id)
    # Hand this request's connection back while the upload is staged, validated and stored:
    # receive() uses connections of its own, and holding one here as well exhausted the pool
    # (every thread holding one, waiting for a second) under many concurrent uploads.
    db.commit()
    try:
        got = receive(
            services,
            _me(who),
            task,
            file.filename or "upload",
            _chunks(file.file),
            received_at=received_at,
        )
    except UploadRejected as e:
        raise HTTPException(e.status_code, str(e)) from None
    return got.submission, got.created


_T = TypeVar("_T")


async def _in_upload_lane(request: Request, work: Callable[[], _T]) -> _T:
    """Run an upload's work in a thread, at most ``Settings.upload_lanes`` at once in this
    process; the others wait here, in the event loop, holding no thread of the pool (which
    the portal's other pages need under a deadline's rush). Storing an upload is Python
    under one interpreter lock: 8 at once took 18 ms of the service's CPU each, 1 or 2 at
    a time 12-15 ms, in the same wall time."""
    state = request.app.state
    by_loop = getattr(state, "upload_lanes", None)
    if by_loop is None:
        by_loop = state.upload_lanes = weakref.WeakKeyDictionary()
    # A limiter belongs to the event loop it is used in: the server has one; a test client
    # that is not entered runs each request in a loop of its own.
    loop = asyncio.get_running_loop()
    lanes = by_loop.get(loop)
    if lanes is None:
        lanes = by_loop[loop] = anyio.CapacityLimiter(state.services.settings.upload_lanes)
    return await anyio.to_thread.run_sync(work, limiter=lanes)


# ----------------------------------------------------------------------------- JSON API


@router.get("/api/v1/me", response_model=MeApplicant)
def me(who: CurrentApplicant) -> MeApplicant:
    """The signed-in applicant."""
    a = _me(who)
    return MeApplicant(
        kind="applicant", name=a.name or a.email, csrf_token=who.csrf, timezone=a.timezone
    )


@router.get("/api/v1/me/tasks", response_model=list[MyTask])
def my_tasks(who: CurrentApplicant, db: SessionDep) -> list[MyTask]:
    """The applicant's tasks (the cohort's, then shortlisted streams' follow-ups), each with
    its window, time budget, Start and deadline (UTC)."""
    return [_task_public(t, d, f) for t, d, f in standings(db, _me(who))]


@router.put("/api/v1/me/timezone", response_model=TimezoneOut)
def set_timezone(body: TimezoneIn, who: CurrentApplicant, db: SessionDep) -> TimezoneOut:
    """Choose the IANA time zone the portal shows times in (stored times stay UTC)."""
    a = _me(who)
    name = body.timezone.strip()
    if not deadlines.valid_zone(name):
        raise HTTPException(422, f"timezone: {name!r} is not an IANA time zone name")
    a.timezone = name  # the session of this request loaded `a`
    db.commit()
    return TimezoneOut(timezone=name)


@router.get("/api/v1/me/tasks/{task_id}/kit", response_class=FileResponse)
def kit(task_id: str, who: CurrentApplicant, db: SessionDep, services: ServicesDep) -> FileResponse:
    """The task's applicant kit (a zip: instructions, starter files, kit.toml)."""
    row = _assigned(db, _me(who), task_id)
    _opened(db, _me(who), row)
    task = catalog.load(row.root)
    if not is_prepared(task):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the kit is being prepared")
    out = services.settings.data_dir / "kits" / f"{task.id}-{task.digest[:16]}.zip"
    if not out.exists():
        bundle(task, out)
    return FileResponse(out, media_type="application/zip", filename=f"{task.id}-kit.zip")


@router.post(
    "/api/v1/me/tasks/{task_id}/submissions",
    response_model=MySubmission,
    status_code=201,
    responses={200: {"description": "the same upload was already received"}},
)
async def upload(
    task_id: str,
    request: Request,
    file: Annotated[UploadFile, File(description="a .zip archive or an .ipynb notebook")],
    who: CurrentApplicant,
    db: SessionDep,
    services: ServicesDep,
    response: Response,
) -> MySubmission:
    """Submit for a task. Sending the same bytes again returns the first submission (200)."""
    received_at = utcnow()  # the body has arrived: the form is read before this runs

    def work() -> MySubmission:
        sub, created = _receive(services, db, who, task_id, file, received_at)
        if not created:
            response.status_code = status.HTTP_200_OK
        row = db.get(Submission, sub.id) or sub
        wait = waiting(db, [row.id], workers=_workers(services)).get(row.id)
        return _public(db, row, wait=wait)

    return await _in_upload_lane(request, work)


@router.get("/api/v1/me/submissions", response_model=list[MySubmission])
def my_submissions(
    who: CurrentApplicant, db: SessionDep, services: ServicesDep
) -> list[MySubmission]:
    """The applicant's own submissions, newest first."""
    subs = db.scalars(
        select(Submission)
        .where(Submission.applicant_id == _me(who).id)
        .order_by(Submission.id.desc())
    ).all()
    shown = released(db, _me(who))
    waits = waiting(db, [s.id for s in subs], workers=_workers(services))
    return [_public(db, s, shown, waits.get(s.id)) for s in subs]


@router.get("/api/v1/me/submissions/{submission_id}", response_model=MySubmission)
def my_submission(
    submission_id: RowId, who: CurrentApplicant, db: SessionDep, services: ServicesDep
) -> MySubmission:
    """One of the applicant's submissions: its state, where it waits in the grading queue
    while received, and its applicant-visible checks once the cohort's results are released."""
    sub = _own(db, _me(who), submission_id)
    return _public(db, sub, wait=waiting(db, [sub.id], workers=_workers(services)).get(sub.id))


def receipt_text(db: Session, sub: Submission) -> str:
    task = db.get(TaskRow, sub.task_id)
    assert task is not None
    lines = [
        "Received",
        "========",
        "",
        f"Task:       {task.title} — {task.id} (version {task.version})",
        f"File:       {clean_text(sub.filename)} ({sub.size:,} bytes, {sub.files} files inside)",
        f"SHA-256:    {sub.blob_sha256} (of the file you uploaded)",
        f"Received:   {sub.received_at.isoformat(timespec='seconds')}"
        + (" (after the deadline: late)" if sub.late else ""),
        f"Status:     {_STATE.get(sub.status, 'checked')}",
        "",
    ]
    report = current_report(db, sub)
    if not released(db, sub.applicant):
        lines.append("Results are shown here once the programme team releases them.\n")
    elif report is not None:
        lines.append(render_receipt(report, show_score=False))
    else:
        lines.append("Grading has not finished yet; this receipt will then list the results.\n")
    return "\n".join(lines)


@router.get("/api/v1/me/submissions/{submission_id}/receipt", response_class=PlainTextResponse)
def my_receipt(submission_id: RowId, who: CurrentApplicant, db: SessionDep) -> PlainTextResponse:
    """What was received (file, sha256, time) and, once graded, the applicant receipt."""
    return PlainTextResponse(receipt_text(db, _own(db, _me(who), submission_id)))


# ----------------------------------------------------------------------------- pages


@router.get("/invite/{token}", include_in_schema=False, response_model=None)
def accept_invite(token: str, request: Request, db: SessionDep, services: ServicesDep) -> Response:
    """An invitation link: sign the applicant in and open their portal."""
    applicant = accounts.applicant_by_token(db, token)
    if applicant is None:
        resp = page(
            request,
            "message.html.j2",
            None,
            title="Invitation not valid",
            message="This invitation link is not valid or has expired. "
            "Ask the programme team for a new one.",
        )
        resp.status_code = 404
        return resp
    raw, _ = accounts.start_session(db, hours=services.settings.session_hours, applicant=applicant)
    db.commit()
    redirect = RedirectResponse("/portal", status_code=303)
    set_cookie(redirect, services, raw)
    return redirect


def _portal(
    request: Request,
    db: Session,
    who: Principal,
    error: str = "",
    code: int = 200,
    *,
    error_task: str = "",
    zone_typed: str | None = None,
) -> HTMLResponse:
    """The portal; `error` (with the task it concerns, if any) is shown in the status
    region and next to that task's form; `zone_typed` keeps a refused time zone choice."""
    a = _me(who)
    subs = db.scalars(
        select(Submission).where(Submission.applicant_id == a.id).order_by(Submission.id.desc())
    ).all()
    shown = released(db, a)
    waits = waiting(db, [s.id for s in subs], workers=_workers(request.app.state.services))
    resp = page(
        request,
        "portal.html.j2",
        who,
        applicant=a,
        standings=standings(db, a),
        submissions=[_public(db, s, shown, waits.get(s.id)) for s in subs],
        released=shown,
        error=error,
        error_task=error_task,
        zone_typed=a.timezone if zone_typed is None else zone_typed,
        zone_known=deadlines.valid_zone(a.timezone),
        zones=sorted(deadlines.zones()),
        at=deadlines.in_zone,
        iso=deadlines.iso_utc,
        duration=deadlines.duration,
    )
    resp.status_code = code
    return resp


@router.get("/portal", response_class=HTMLResponse, include_in_schema=False)
def portal(request: Request, who: CurrentApplicant, db: SessionDep) -> HTMLResponse:
    return _portal(request, db, who)


@router.get(
    "/portal/tasks/{task_id}/instructions", response_class=HTMLResponse, include_in_schema=False
)
def instructions(
    task_id: str, request: Request, who: CurrentApplicant, db: SessionDep
) -> HTMLResponse:
    """The task's instructions, its Markdown rendered and sanitised as the submission viewer
    does it (raw HTML shown as text, scripts and event handlers removed, links limited to
    http(s) and mailto, images as their alt text: nothing loads from elsewhere)."""
    from api.viewer import render_markdown

    task = _assigned(db, _me(who), task_id)
    standing = due(db, _me(who), task)
    if standing.needs_start:  # the page says why, and where Start is; nothing of the task
        resp = page(request, "instructions.html.j2", who, task=task, body=None, due=standing)
        resp.status_code = status.HTTP_409_CONFLICT
        return resp
    text = (Path(task.root) / "instructions.md").read_text(encoding="utf-8")
    return page(
        request, "instructions.html.j2", who, task=task, body=render_markdown(text), due=standing
    )


@router.post("/portal/tasks/{task_id}/submissions", include_in_schema=False, response_model=None)
async def upload_form(
    task_id: str,
    request: Request,
    file: Annotated[UploadFile, File()],
    who: CurrentApplicant,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    received_at = utcnow()  # the body has arrived: the form is read before this runs

    def work() -> Response:
        try:
            sub, _ = _receive(services, db, who, task_id, file, received_at)
        except HTTPException as e:
            return _portal(
                request, db, who, error=str(e.detail), code=e.status_code, error_task=task_id
            )
        return RedirectResponse(f"/portal?received={sub.id}", status_code=303)

    return await _in_upload_lane(request, work)


@router.post("/portal/timezone", include_in_schema=False, response_model=None)
def timezone_form(
    request: Request,
    who: CurrentApplicant,
    db: SessionDep,
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """The portal's time zone form (the same rule as PUT /api/v1/me/timezone)."""
    try:
        set_timezone(TimezoneIn(timezone=timezone), who, db)
    except HTTPException as e:
        return _portal(request, db, who, error=str(e.detail), code=422, zone_typed=timezone)
    return RedirectResponse("/portal?zone=saved", status_code=303)


@router.get(
    "/portal/submissions/{submission_id}/receipt",
    response_class=PlainTextResponse,
    include_in_schema=False,
)
def receipt_page(submission_id: RowId, who: CurrentApplicant, db: SessionDep) -> PlainTextResponse:
    return PlainTextResponse(receipt_text(db, _own(db, _me(who), submission_id)))


@router.get("/portal-expired", response_class=HTMLResponse, include_in_schema=False)
def portal_expired(request: Request) -> HTMLResponse:
    resp = page(
        request,
        "message.html.j2",
        None,
        title="Please open your invitation link",
        message="Your session has ended. Open the invitation link you were sent to continue.",
    )
    resp.status_code = 401
    return resp
