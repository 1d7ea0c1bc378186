"""Streams: mentors, follow-up tasks, applicants' choices, the mentor's ranking and shortlist.

Who sees what is decided once, in :class:`api.streams.StreamView`: the pages, the JSON API
and the CSV export all read a stream through it, so a stream a mentor does not mentor (or an
applicant who did not choose it) answers 404 everywhere, exactly as one that does not exist.
Pages render their one-line error in place (422, input kept); the JSON API answers 4xx with
``detail``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import streams
from api.deps import (
    MAX_ID,
    CurrentApplicant,
    CurrentOperator,
    CurrentStaff,
    Principal,
    RowId,
    ServicesDep,
    SessionDep,
)
from api.models import Cohort, Stream
from api.routes.cohorts import csv_safe, get_cohort
from api.streams import NotVisible, StreamConflict, StreamError, StreamView
from api.views import page

router = APIRouter(tags=["streams"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
TaskId = Annotated[str, Field(min_length=1, max_length=64)]
# An applicant within a stream is addressed by their pseudonym (A-xxxxxxxx).
Key = Annotated[str, Path(max_length=64)]
CSS = "/static/streams.css"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamIn(_In):
    name: Annotated[str, Field(max_length=1000)]
    description: Annotated[str, Field(max_length=20_000)] = ""
    mentor_ids: list[Id] = []
    task_ids: list[TaskId] = []


class StreamUpdate(_In):
    name: Annotated[str, Field(max_length=1000)] | None = None
    description: Annotated[str, Field(max_length=20_000)] | None = None


class MentorsIn(_In):
    user_ids: list[Id]


class TasksIn(_In):
    task_ids: list[TaskId]


class MentorPublic(BaseModel):
    id: int
    username: str
    role: str


class StreamPublic(BaseModel):
    id: int
    cohort_id: int
    name: str
    description: str
    mentors: list[MentorPublic]
    task_ids: list[str]
    applicants: int  # how many chose it


class NotePublic(BaseModel):
    id: int
    author: str
    body: str
    created_at: datetime


class StreamApplicantPublic(BaseModel):
    key: str  # the pseudonym: how the applicant is addressed in this API's URLs
    applicant: str  # name and e-mail, or the pseudonym in a blind cohort
    rank: int
    stream_score: float | None
    composite: float | None
    follow_up: float | None
    tasks: dict[str, float | None]
    provisional: bool
    shortlisted: bool
    shortlisted_by: str
    shortlisted_at: datetime | None
    chosen_at: datetime
    notes: list[NotePublic]


class StreamApplicantsPublic(BaseModel):
    stream: StreamPublic
    formula: str
    applicants: list[StreamApplicantPublic]


class ShortlistIn(_In):
    shortlisted: bool


class NoteIn(_In):
    body: Annotated[str, Field(max_length=20_000)]


class FollowUpPublic(BaseModel):
    task_id: str
    title: str
    open: bool


class MyStreamPublic(BaseModel):
    id: int
    name: str
    description: str
    chosen: bool
    follow_ups: list[FollowUpPublic]


class MyStreamsPublic(BaseModel):
    open: bool  # choices may still change
    closes_at: datetime | None
    streams: list[MyStreamPublic]


class MyStreamsIn(_In):
    stream_ids: list[Id]


# -- helpers ----------------------------------------------------------------------------


@contextmanager
def _json_errors() -> Iterator[None]:
    """StreamError → 422, StreamConflict → 409, NotVisible → 404, each with its one line."""
    try:
        yield
    except NotVisible as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from None
    except StreamConflict as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    except StreamError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None


def _stream(db: Session, stream_id: int) -> Stream:
    stream = db.get(Stream, stream_id)
    if stream is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such stream")
    return stream


def _view(db: Session, who: Principal, stream_id: int, secret: bytes) -> StreamView:
    with _json_errors():
        return StreamView.open(db, who, stream_id, secret)


def _public(db: Session, s: Stream) -> StreamPublic:
    return StreamPublic(
        id=s.id,
        cohort_id=s.cohort_id,
        name=s.name,
        description=s.description,
        mentors=[
            MentorPublic(id=u.id, username=u.username, role=u.role) for u in streams.mentors(db, s)
        ],
        task_ids=streams.task_ids(db, s),
        applicants=streams.chosen_by(db, s),
    )


def _row_public(r: streams.Row) -> StreamApplicantPublic:
    return StreamApplicantPublic(
        key=r.key,
        applicant=r.applicant,
        rank=r.rank,
        stream_score=r.stream_score,
        composite=r.composite,
        follow_up=r.follow_up,
        tasks=r.tasks,
        provisional=r.provisional,
        shortlisted=r.shortlisted,
        shortlisted_by=r.shortlisted_by,
        shortlisted_at=r.shortlisted_at,
        chosen_at=r.chosen_at,
        notes=[NotePublic(**n.__dict__) for n in r.notes],
    )


def _my_streams(db: Session, who: Principal) -> MyStreamsPublic:
    applicant = who.applicant
    assert applicant is not None
    cohort = db.get(Cohort, applicant.cohort_id)
    assert cohort is not None
    return MyStreamsPublic(
        open=streams.choices_open(cohort),
        closes_at=cohort.closes_at,
        streams=[
            MyStreamPublic(
                id=s.id,
                name=s.name,
                description=s.description,
                chosen=s.chosen,
                follow_ups=[FollowUpPublic(**f.__dict__) for f in s.follow_ups],
            )
            for s in streams.applicant_streams(db, applicant)
        ],
    )


async def _form(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The posted form's single values, and its repeated fields (ticked boxes)."""
    data = await request.form()
    single = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    multi = {k: [v for v in data.getlist(k) if isinstance(v, str)] for k in data}
    return single, multi


def _ids(values: list[str], label: str) -> list[int]:
    out = []
    for raw in values:
        if not raw.isdigit() or len(raw) > len(str(MAX_ID)) or not 1 <= int(raw) <= MAX_ID:
            raise StreamError(f"{label}: {raw[:40]!r} is not an id")
        out.append(int(raw))
    return out


# -- operators: the streams of a cohort (JSON) --------------------------------------------


@router.get("/api/v1/cohorts/{cohort_id}/streams", response_model=list[StreamPublic])
def list_streams(cohort_id: RowId, who: CurrentStaff, db: SessionDep) -> list[StreamPublic]:
    """The cohort's streams the caller may see: all for operators, their own for mentors."""
    cohort = get_cohort(db, cohort_id)
    return [_public(db, s) for s in streams.visible_streams(db, who, cohort.id)]


@router.post("/api/v1/cohorts/{cohort_id}/streams", response_model=StreamPublic, status_code=201)
def create_stream(
    cohort_id: RowId, body: StreamIn, who: CurrentOperator, db: SessionDep
) -> StreamPublic:
    """A new stream with its mentors (mentor or reviewer accounts) and follow-up tasks."""
    cohort = get_cohort(db, cohort_id)
    with _json_errors():
        stream = streams.create_stream(
            db, who, cohort, body.name, body.description, body.mentor_ids, body.task_ids
        )
    db.commit()
    return _public(db, stream)


@router.get("/api/v1/streams/{stream_id}", response_model=StreamPublic)
def get_stream(
    stream_id: RowId, who: CurrentStaff, db: SessionDep, services: ServicesDep
) -> StreamPublic:
    """One stream (404 for a stream the caller does not mentor)."""
    return _public(db, _view(db, who, stream_id, services.secret).stream)


@router.patch("/api/v1/streams/{stream_id}", response_model=StreamPublic)
def update_stream(
    stream_id: RowId, body: StreamUpdate, who: CurrentOperator, db: SessionDep
) -> StreamPublic:
    """Rename a stream or change its description."""
    stream = _stream(db, stream_id)
    with _json_errors():
        streams.update_stream(db, who, stream, name=body.name, description=body.description)
    db.commit()
    return _public(db, stream)


@router.delete("/api/v1/streams/{stream_id}", status_code=204)
def delete_stream(stream_id: RowId, who: CurrentOperator, db: SessionDep) -> Response:
    """Delete a stream that nobody has chosen (409 otherwise)."""
    stream = _stream(db, stream_id)
    with _json_errors():
        streams.delete_stream(db, who, stream)
    db.commit()
    return Response(status_code=204)


@router.put("/api/v1/streams/{stream_id}/mentors", response_model=StreamPublic)
def set_mentors(
    stream_id: RowId, body: MentorsIn, who: CurrentOperator, db: SessionDep
) -> StreamPublic:
    """Make the stream's mentors exactly these accounts (mentor or reviewer role)."""
    stream = _stream(db, stream_id)
    with _json_errors():
        streams.update_stream(db, who, stream, mentor_ids=body.user_ids)
    db.commit()
    return _public(db, stream)


@router.put("/api/v1/streams/{stream_id}/tasks", response_model=StreamPublic)
def set_tasks(
    stream_id: RowId, body: TasksIn, who: CurrentOperator, db: SessionDep
) -> StreamPublic:
    """Make the stream's follow-up tasks exactly these loaded tasks (not the cohort's own)."""
    stream = _stream(db, stream_id)
    with _json_errors():
        streams.update_stream(db, who, stream, task_ids_in=body.task_ids)
    db.commit()
    return _public(db, stream)


# -- mentors and operators: a stream's applicants (JSON, CSV) -----------------------------


@router.get("/api/v1/streams/{stream_id}/applicants", response_model=StreamApplicantsPublic)
def stream_applicants(
    stream_id: RowId, who: CurrentStaff, db: SessionDep, services: ServicesDep
) -> StreamApplicantsPublic:
    """The applicants who chose the stream, ranked by stream score (``formula``), with
    shortlist state and notes; pseudonyms in blind cohorts for everyone but operators."""
    view = _view(db, who, stream_id, services.secret)
    return StreamApplicantsPublic(
        stream=_public(db, view.stream),
        formula=streams.FORMULA,
        applicants=[_row_public(r) for r in view.rows(db)],
    )


@router.get("/api/v1/streams/{stream_id}/applicants.csv", response_class=Response)
def stream_applicants_csv(
    stream_id: RowId, who: CurrentStaff, db: SessionDep, services: ServicesDep
) -> Response:
    """The same rows as the JSON, one per applicant; every text cell formula-safe."""
    view = _view(db, who, stream_id, services.secret)
    rows = view.rows(db)
    tasks = sorted({t for r in rows for t in r.tasks})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["rank", "key", "applicant", "stream_score", "composite", "follow_up", "provisional",
         "shortlisted", "shortlisted_by", "shortlisted_at", "notes", *[f"task:{t}" for t in tasks]]
    )  # fmt: skip
    for r in rows:
        w.writerow(
            [r.rank, csv_safe(r.key), csv_safe(r.applicant), _fmt(r.stream_score),
             _fmt(r.composite), _fmt(r.follow_up), r.provisional, r.shortlisted,
             csv_safe(r.shortlisted_by),
             r.shortlisted_at.isoformat(timespec="seconds") if r.shortlisted_at else "",
             len(r.notes), *[_fmt(r.tasks.get(t)) for t in tasks]]
        )  # fmt: skip
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="stream-{view.stream.id}.csv"'},
    )


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}".rstrip("0").rstrip(".")


@router.put(
    "/api/v1/streams/{stream_id}/applicants/{key}/shortlist",
    response_model=StreamApplicantPublic,
)
def shortlist(
    stream_id: RowId,
    key: Key,
    body: ShortlistIn,
    who: CurrentStaff,
    db: SessionDep,
    services: ServicesDep,
) -> StreamApplicantPublic:
    """Put the applicant (addressed by ``key``) on the stream's shortlist or off it."""
    view = _view(db, who, stream_id, services.secret)
    with _json_errors():
        view.set_shortlisted(db, key, body.shortlisted)
    db.commit()
    return _one(db, view, key)


@router.post(
    "/api/v1/streams/{stream_id}/applicants/{key}/notes",
    response_model=NotePublic,
    status_code=201,
)
def add_note(
    stream_id: RowId,
    key: Key,
    body: NoteIn,
    who: CurrentStaff,
    db: SessionDep,
    services: ServicesDep,
) -> NotePublic:
    """A plain-text note on the applicant, read by the stream's mentors and operators."""
    view = _view(db, who, stream_id, services.secret)
    with _json_errors():
        note = view.add_note(db, key, body.body)
    db.commit()
    return NotePublic(**note.__dict__)


def _one(db: Session, view: StreamView, key: str) -> StreamApplicantPublic:
    for r in view.rows(db):
        if r.key == key:
            return _row_public(r)
    raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant in this stream")


# -- applicants (JSON) --------------------------------------------------------------------


@router.get("/api/v1/me/streams", response_model=MyStreamsPublic)
def my_streams(who: CurrentApplicant, db: SessionDep) -> MyStreamsPublic:
    """The cohort's streams, which I chose, and each one's follow-up tasks (``open`` once
    the stream has invited me to take them)."""
    return _my_streams(db, who)


@router.put("/api/v1/me/streams", response_model=MyStreamsPublic)
def choose_streams(body: MyStreamsIn, who: CurrentApplicant, db: SessionDep) -> MyStreamsPublic:
    """Choose exactly these streams (409 once the cohort has closed)."""
    with _json_errors():
        streams.set_choices(db, who, body.stream_ids)
    db.commit()
    return _my_streams(db, who)


# -- pages: the applicant's streams -------------------------------------------------------


def _portal_page(
    request: Request,
    db: Session,
    who: Principal,
    *,
    error: str = "",
    message: str = "",
    ticked: list[int] | None = None,
) -> HTMLResponse:
    data = _my_streams(db, who)
    resp = page(
        request,
        "portal_streams.html.j2",
        who,
        data=data,
        ticked=ticked if ticked is not None else [s.id for s in data.streams if s.chosen],
        error=error,
        message=message,
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


@router.get("/portal/streams", response_class=HTMLResponse, include_in_schema=False)
def portal_streams(request: Request, who: CurrentApplicant, db: SessionDep) -> HTMLResponse:
    saved = request.query_params.get("saved") == "1"
    return _portal_page(request, db, who, message="Your streams were saved." if saved else "")


@router.post("/portal/streams", response_class=HTMLResponse, include_in_schema=False)
async def portal_streams_save(request: Request, who: CurrentApplicant, db: SessionDep) -> Response:
    _, multi = await _form(request)
    raw = multi.get("stream_ids", [])
    try:
        ids = _ids(raw, "streams")
        streams.set_choices(db, who, ids)
    except StreamError as e:
        db.rollback()
        kept = [int(v) for v in raw if v.isdigit() and len(v) <= 10]
        return _portal_page(request, db, who, error=str(e), ticked=kept)
    db.commit()
    return RedirectResponse("/portal/streams?saved=1", status_code=303)


# -- pages: mentors and operators ---------------------------------------------------------


@router.get("/review/streams", response_class=HTMLResponse, include_in_schema=False)
def streams_page(request: Request, who: CurrentStaff, db: SessionDep) -> HTMLResponse:
    visible = streams.visible_streams(db, who)
    cohorts = {c.id: c for c in db.scalars(select(Cohort))}
    return page(
        request,
        "streams.html.j2",
        who,
        streams=[(_public(db, s), cohorts[s.cohort_id]) for s in visible],
        css=CSS,
    )


def _stream_page(
    request: Request,
    db: Session,
    view: StreamView,
    *,
    error: str = "",
    message: str = "",
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    resp = page(
        request,
        "streams_stream.html.j2",
        view.who,
        stream=_public(db, view.stream),
        cohort=view.cohort,
        identity=view.identity,
        rows=view.rows(db),
        formula=streams.FORMULA,
        error=error,
        message=message,
        form=form or {},
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


def _page_view(db: Session, who: Principal, stream_id: int, secret: bytes) -> StreamView:
    try:
        return StreamView.open(db, who, stream_id, secret)
    except NotVisible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such stream") from None


@router.get("/review/streams/{stream_id}", response_class=HTMLResponse, include_in_schema=False)
def stream_page(
    stream_id: RowId, request: Request, who: CurrentStaff, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    view = _page_view(db, who, stream_id, services.secret)
    done = request.query_params.get("done", "")
    message = {
        "shortlisted": "Added to the shortlist.",
        "unlisted": "Taken off the shortlist.",
        "note": "Note saved.",
    }.get(done, "")
    return _stream_page(request, db, view, message=message)


@router.post(
    "/review/streams/{stream_id}/applicants/{key}/shortlist",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def stream_page_shortlist(
    stream_id: RowId,
    key: Key,
    request: Request,
    who: CurrentStaff,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    view = _page_view(db, who, stream_id, services.secret)
    single, _ = await _form(request)
    value = single.get("shortlisted", "")
    if value not in ("1", "0"):
        return _stream_page(request, db, view, error="shortlist: send 1 (add) or 0 (remove)")
    try:
        view.set_shortlisted(db, key, value == "1")
    except NotVisible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant in this stream") from None
    db.commit()
    done = "shortlisted" if value == "1" else "unlisted"
    return RedirectResponse(
        f"/review/streams/{view.stream.id}?done={done}#row-{key}", status_code=303
    )


@router.post(
    "/review/streams/{stream_id}/applicants/{key}/notes",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def stream_page_note(
    stream_id: RowId,
    key: Key,
    request: Request,
    who: CurrentStaff,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    view = _page_view(db, who, stream_id, services.secret)
    single, _ = await _form(request)
    body = single.get("body", "")
    try:
        view.add_note(db, key, body)
    except NotVisible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant in this stream") from None
    except StreamError as e:
        db.rollback()
        return _stream_page(
            request, db, view, error=str(e), form={"key": key, "body": body[:20_000]}
        )
    db.commit()
    return RedirectResponse(
        f"/review/streams/{view.stream.id}?done=note#row-{key}", status_code=303
    )


# -- pages: the operators' streams of a cohort --------------------------------------------


def _admin_page(
    request: Request,
    db: Session,
    who: Principal,
    cohort: Cohort,
    *,
    error: str = "",
    message: str = "",
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    rows = [_public(db, s) for s in streams.visible_streams(db, who, cohort.id)]
    resp = page(
        request,
        "admin_streams.html.j2",
        who,
        cohort=cohort,
        streams=rows,
        mentors=streams.eligible_mentors(db),
        tasks=streams.follow_up_candidates(db, cohort),
        error=error,
        message=message,
        form=form or {},
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


_ADMIN_DONE = {
    "created": "Stream created.",
    "saved": "Stream saved.",
    "deleted": "Stream deleted.",
}


@router.get(
    "/admin/cohorts/{cohort_id}/streams", response_class=HTMLResponse, include_in_schema=False
)
def admin_streams(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    return _admin_page(
        request, db, who, get_cohort(db, cohort_id), message=_ADMIN_DONE.get(done, "")
    )


def _stream_form(
    single: dict[str, str], multi: dict[str, list[str]]
) -> tuple[str, str, list[int], list[str]]:
    mentor_ids = _ids(multi.get("mentor_ids", []), "mentors")
    task_ids = [t for t in multi.get("task_ids", []) if t]
    return single.get("name", ""), single.get("description", ""), mentor_ids, task_ids


def _kept(single: dict[str, str], multi: dict[str, list[str]], which: str) -> dict[str, Any]:
    return {
        "which": which,
        "name": single.get("name", "")[:1000],
        "description": single.get("description", "")[:20_000],
        "mentor_ids": multi.get("mentor_ids", []),
        "task_ids": multi.get("task_ids", []),
    }


@router.post(
    "/admin/cohorts/{cohort_id}/streams", response_class=HTMLResponse, include_in_schema=False
)
async def admin_streams_create(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> Response:
    cohort = get_cohort(db, cohort_id)
    single, multi = await _form(request)
    try:
        name, description, mentor_ids, task_ids = _stream_form(single, multi)
        streams.create_stream(db, who, cohort, name, description, mentor_ids, task_ids)
    except StreamError as e:
        db.rollback()
        return _admin_page(request, db, who, cohort, error=str(e), form=_kept(single, multi, "new"))
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}/streams?done=created", status_code=303)


@router.post("/admin/streams/{stream_id}", response_class=HTMLResponse, include_in_schema=False)
async def admin_stream_save(
    stream_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> Response:
    stream = _stream(db, stream_id)
    cohort = get_cohort(db, stream.cohort_id)
    single, multi = await _form(request)
    try:
        name, description, mentor_ids, task_ids = _stream_form(single, multi)
        streams.update_stream(
            db,
            who,
            stream,
            name=name,
            description=description,
            mentor_ids=mentor_ids,
            task_ids_in=task_ids,
        )
    except StreamError as e:
        db.rollback()
        return _admin_page(
            request, db, who, cohort, error=str(e), form=_kept(single, multi, str(stream_id))
        )
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}/streams?done=saved", status_code=303)


@router.post(
    "/admin/streams/{stream_id}/delete", response_class=HTMLResponse, include_in_schema=False
)
async def admin_stream_delete(
    stream_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> Response:
    stream = _stream(db, stream_id)
    cohort = get_cohort(db, stream.cohort_id)
    try:
        streams.delete_stream(db, who, stream)
    except StreamError as e:
        db.rollback()
        return _admin_page(request, db, who, cohort, error=str(e))
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}/streams?done=deleted", status_code=303)
