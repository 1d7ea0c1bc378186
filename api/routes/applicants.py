"""The applicant portal: invitation links, assigned tasks, kits, uploads, status, receipts.

An applicant sees only their own submissions (anything else is a 404, the same as a
submission that does not exist) and only checks whose visibility is ``applicant``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import APIRouter, File, HTTPException, Request, Response, UploadFile, status
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import accounts, catalog
from api.deps import CurrentApplicant, Principal, RowId, ServicesDep, SessionDep
from api.models import Applicant, CohortTask, Submission, TaskRow
from api.routes.auth import set_cookie
from api.schemas import ApplicantTask, MePublic, ReceivedPublic
from api.services import Services
from api.uploads import UploadRejected, receive
from api.views import applicant_checks, current_report, page
from grader.bundle import bundle
from grader.prepare import is_prepared
from grader.render import render_receipt
from grader.text import clean_text

router = APIRouter(tags=["applicants"])
_CHUNK = 1 << 20


def _me(who: Principal) -> Applicant:
    assert who.applicant is not None
    return who.applicant


def assigned_tasks(db: Session, applicant: Applicant) -> list[TaskRow]:
    return list(
        db.scalars(
            select(TaskRow)
            .join(CohortTask, CohortTask.task_id == TaskRow.id)
            .where(CohortTask.cohort_id == applicant.cohort_id)
            .order_by(TaskRow.id)
        )
    )


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


def _public(db: Session, sub: Submission) -> ReceivedPublic:
    return ReceivedPublic(
        id=sub.id,
        task_id=sub.task_id,
        filename=sub.filename,
        size=sub.size,
        sha256=sub.blob_sha256,
        received_at=sub.received_at,
        status=sub.status,
        checks=applicant_checks(current_report(db, sub)),
        receipt_url=f"/api/v1/me/submissions/{sub.id}/receipt",
    )


def _task_public(t: TaskRow) -> ApplicantTask:
    return ApplicantTask(
        id=t.id,
        title=t.title,
        kind=t.kind,
        version=t.version,
        max_score=t.max_score,
        has_rubric=bool(t.rubric),
        kit_url=f"/api/v1/me/tasks/{t.id}/kit",
        upload_url=f"/api/v1/me/tasks/{t.id}/submissions",
    )


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _receive(
    services: Services, db: Session, who: Principal, task_id: str, file: UploadFile
) -> tuple[Submission, bool]:
    task = _assigned(db, _me(who), task_id)
    # Hand this request's connection back while the upload is staged, validated and stored:
    # receive() uses connections of its own, and holding one here as well exhausted the pool
    # (every thread holding one, waiting for a second) under many concurrent uploads.
    db.commit()
    try:
        got = receive(services, _me(who), task, file.filename or "upload", _chunks(file.file))
    except UploadRejected as e:
        raise HTTPException(e.status_code, str(e)) from None
    return got.submission, got.created


# ----------------------------------------------------------------------------- JSON API


@router.get("/api/v1/me", response_model=MePublic)
def me(who: CurrentApplicant) -> MePublic:
    """The signed-in applicant."""
    a = _me(who)
    return MePublic(kind="applicant", name=a.name or a.email, csrf_token=who.csrf)


@router.get("/api/v1/me/tasks", response_model=list[ApplicantTask])
def my_tasks(who: CurrentApplicant, db: SessionDep) -> list[ApplicantTask]:
    """The tasks assigned to the applicant's cohort."""
    return [_task_public(t) for t in assigned_tasks(db, _me(who))]


@router.get("/api/v1/me/tasks/{task_id}/kit", response_class=FileResponse)
def kit(task_id: str, who: CurrentApplicant, db: SessionDep, services: ServicesDep) -> FileResponse:
    """The task's applicant kit (a zip: instructions, starter files, kit.toml)."""
    row = _assigned(db, _me(who), task_id)
    task = catalog.load(row.root)
    if not is_prepared(task):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the kit is being prepared")
    out = services.settings.data_dir / "kits" / f"{task.id}-{task.digest[:16]}.zip"
    if not out.exists():
        bundle(task, out)
    return FileResponse(out, media_type="application/zip", filename=f"{task.id}-kit.zip")


@router.post(
    "/api/v1/me/tasks/{task_id}/submissions",
    response_model=ReceivedPublic,
    status_code=201,
    responses={200: {"description": "the same upload was already received"}},
)
def upload(
    task_id: str,
    file: Annotated[UploadFile, File(description="a .zip archive or an .ipynb notebook")],
    who: CurrentApplicant,
    db: SessionDep,
    services: ServicesDep,
    response: Response,
) -> ReceivedPublic:
    """Submit for a task. Sending the same bytes again returns the first submission (200)."""
    sub, created = _receive(services, db, who, task_id, file)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _public(db, db.get(Submission, sub.id) or sub)


@router.get("/api/v1/me/submissions", response_model=list[ReceivedPublic])
def my_submissions(who: CurrentApplicant, db: SessionDep) -> list[ReceivedPublic]:
    """The applicant's own submissions, newest first."""
    subs = db.scalars(
        select(Submission)
        .where(Submission.applicant_id == _me(who).id)
        .order_by(Submission.id.desc())
    )
    return [_public(db, s) for s in subs]


@router.get("/api/v1/me/submissions/{submission_id}", response_model=ReceivedPublic)
def my_submission(submission_id: RowId, who: CurrentApplicant, db: SessionDep) -> ReceivedPublic:
    """One of the applicant's submissions: status and applicant-visible checks."""
    return _public(db, _own(db, _me(who), submission_id))


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
        f"Received:   {sub.received_at.isoformat(timespec='seconds')}",
        f"Status:     {sub.status}",
        "",
    ]
    report = current_report(db, sub)
    if report is not None:
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
    request: Request, db: Session, who: Principal, error: str = "", code: int = 200
) -> HTMLResponse:
    a = _me(who)
    tasks = assigned_tasks(db, a)
    subs = db.scalars(
        select(Submission).where(Submission.applicant_id == a.id).order_by(Submission.id.desc())
    ).all()
    resp = page(
        request,
        "portal.html.j2",
        who,
        applicant=a,
        tasks=tasks,
        submissions=[_public(db, s) for s in subs],
        error=error,
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
    text = (Path(task.root) / "instructions.md").read_text(encoding="utf-8")
    return page(request, "instructions.html.j2", who, task=task, body=render_markdown(text))


@router.post("/portal/tasks/{task_id}/submissions", include_in_schema=False, response_model=None)
def upload_form(
    task_id: str,
    request: Request,
    file: Annotated[UploadFile, File()],
    who: CurrentApplicant,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    try:
        sub, _ = _receive(services, db, who, task_id, file)
    except HTTPException as e:
        return _portal(request, db, who, error=str(e.detail), code=e.status_code)
    return RedirectResponse(f"/portal?received={sub.id}", status_code=303)


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
