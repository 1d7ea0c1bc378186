"""The outbox of messages: operators read, send and export it.

One rule for who sees the outbox, whatever the format (HTML, JSON, CSV): operators only,
since every row carries an applicant's address and a message meant for them alone
(:func:`visible`). Sending now and queueing failed messages again are bulk actions: the
first press shows what would happen, a second one (``confirm``) does it, and both are
written to the audit log.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api import notifications
from api.core.config import Settings
from api.deps import CurrentOperator, Principal, RowId, ServicesDep, SessionDep
from api.models import OutboxMessage
from api.reviewing import audit
from api.routes.cohorts import csv_safe
from api.services import Services
from api.views import page

router = APIRouter(tags=["outbox"])

PAGE_SIZE = 100
CSS = "/static/outbox.css"
CSV_COLUMNS = (
    "id", "kind", "status", "to", "subject", "attempts", "error", "created_at", "sent_at",
    "last_attempt_at", "applicant_id", "cohort_id", "body",
)  # fmt: skip


class Filter(BaseModel):
    """Which messages to list: by status and kind (empty: all)."""

    model_config = ConfigDict(frozen=True)

    status: str = ""
    kind: str = ""

    def problem(self) -> str:
        if self.status and self.status not in notifications.STATUSES:
            return f"status {self.status[:40]!r} is not one of {', '.join(notifications.STATUSES)}"
        if self.kind and self.kind not in notifications.KINDS:
            return f"kind {self.kind[:40]!r} is not one of {', '.join(notifications.KINDS)}"
        return ""


class MessagePublic(BaseModel):
    id: int
    kind: str
    status: str
    to: str
    subject: str
    body: str
    attempts: int
    error: str
    applicant_id: int | None
    cohort_id: int | None
    created_at: datetime
    sent_at: datetime | None  # when the server accepted it
    last_attempt_at: datetime | None  # when the last attempt began (not yet sent)


class OutboxPublic(BaseModel):
    smtp_configured: bool
    counts: dict[str, int]  # per status, over the whole outbox
    total: int  # matching the filter
    messages: list[MessagePublic]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False


class ActionPublic(BaseModel):
    dry_run: bool
    ids: list[int]  # the messages it would touch / touched
    sent: list[int] = []
    retrying: list[int] = []
    failed: list[int] = []


# -- the one rule and the queries --------------------------------------------------------


def visible(who: Principal) -> bool:
    """Who may read the outbox: operators (addresses and personal links are in it)."""
    return who.user is not None and who.user.role == "operator"


def _require(who: Principal) -> None:
    if not visible(who):  # CurrentOperator already refuses others: kept as the one rule
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only operators read the outbox")


def _query(f: Filter) -> Select[OutboxMessage]:
    q = select(OutboxMessage)
    if f.status:
        q = q.where(OutboxMessage.status == f.status)
    if f.kind:
        q = q.where(OutboxMessage.kind == f.kind)
    return q


def _counts(db: Session) -> dict[str, int]:
    rows = db.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    got = {s: int(n) for s, n in rows}
    return {s: got.get(s, 0) for s in notifications.STATUSES}


def public(m: OutboxMessage) -> MessagePublic:
    sent = m.status == "sent"
    return MessagePublic(
        id=m.id, kind=m.kind, status=m.status, to=m.to_addr, subject=m.subject, body=m.body,
        attempts=m.attempts, error=m.error, applicant_id=m.applicant_id, cohort_id=m.cohort_id,
        created_at=m.created_at, sent_at=m.sent_at if sent else None,
        last_attempt_at=None if sent else m.sent_at,
    )  # fmt: skip


def _smtp_line(settings: Settings) -> str:
    if not settings.smtp_host:
        return ""
    tls = "implicit TLS" if settings.smtp_port == 465 else (
        "STARTTLS" if settings.smtp_starttls else "no TLS"
    )  # fmt: skip
    login = f", as {settings.smtp_user}" if settings.smtp_user else ""
    return f"{settings.smtp_host}:{settings.smtp_port} ({tls}{login}), from {settings.smtp_from}"


def _actor(who: Principal) -> str:
    assert who.user is not None
    return f"{who.user.role}:{who.user.username}"


def _pending(db: Session) -> list[int]:
    """What "send now" would try: every queued message (back-off ignored)."""
    return list(
        db.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "queued")
            .order_by(OutboxMessage.id)
        )
    )


def _failed(db: Session) -> list[int]:
    return list(
        db.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "failed")
            .order_by(OutboxMessage.id)
        )
    )


def _send_now(services: Services, db: Session, who: Principal) -> notifications.SendResult:
    result = notifications.send_pending(
        services.settings, services.sessions, ignore_backoff=True, limit=1000
    )
    audit(
        db, actor=_actor(who), action="outbox_send", submission_id=None, before={},
        after={"sent": result.sent, "retrying": result.retrying, "failed": result.failed},
    )  # fmt: skip
    db.commit()
    return result


def _retry(db: Session, who: Principal) -> list[int]:
    ids = notifications.requeue_failed(db)
    audit(
        db, actor=_actor(who), action="outbox_retry", submission_id=None,
        before={"status": "failed"}, after={"requeued": ids},
    )  # fmt: skip
    db.commit()
    return ids


# -- pages -------------------------------------------------------------------------------


def _outbox_page(
    request: Request,
    who: Principal,
    db: Session,
    services: Services,
    f: Filter,
    offset: int = 0,
    *,
    error: str = "",
    message: str = "",
    preview: dict[str, Any] | None = None,
    code: int = 200,
) -> HTMLResponse:
    problem = f.problem()
    shown = Filter() if problem else f
    total = db.scalar(select(func.count()).select_from(_query(shown).subquery())) or 0
    rows = db.scalars(
        _query(shown).order_by(OutboxMessage.id.desc()).offset(offset).limit(PAGE_SIZE)
    ).all()
    resp = page(
        request,
        "outbox.html.j2",
        who,
        css=CSS,
        f=shown,  # a refused filter is named in the error; the page lists everything
        kinds=notifications.KINDS,
        statuses=notifications.STATUSES,
        counts=_counts(db),
        total=total,
        rows=[public(m) for m in rows],
        offset=offset,
        page_size=PAGE_SIZE,
        smtp=_smtp_line(services.settings),
        max_attempts=notifications.MAX_ATTEMPTS,
        error=error or problem,
        message=message,
        preview=preview,
    )
    resp.status_code = 422 if (error or problem) else code
    return resp


@router.get("/admin/outbox", response_class=HTMLResponse, include_in_schema=False)
def outbox_page(
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    status_: Annotated[str, Query(alias="status", max_length=40)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    _require(who)
    return _outbox_page(request, who, db, services, Filter(status=status_, kind=kind), offset)


@router.get("/admin/outbox/{message_id}", response_class=HTMLResponse, include_in_schema=False)
def message_page(
    message_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    """One message as the applicant receives it: headers and plain-text body."""
    _require(who)
    m = db.get(OutboxMessage, message_id)
    if m is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no message {message_id}")
    return page(request, "outbox_message.html.j2", who, css=CSS, m=public(m))


async def _form(request: Request) -> tuple[dict[str, str], Filter]:
    data = await request.form()
    form = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    return form, Filter(status=form.get("status", "")[:40], kind=form.get("kind", "")[:40])


@router.post("/admin/outbox/send", response_class=HTMLResponse, include_in_schema=False)
async def outbox_send(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """First press: how many queued messages would go. Confirmed: send them now."""
    _require(who)
    form, f = await _form(request)
    if not services.settings.smtp_host:
        return _outbox_page(
            request, who, db, services, f,
            error="SMTP is not configured: set ASSESS_SMTP_HOST (and restart) to send mail",
        )  # fmt: skip
    ids = _pending(db)
    if form.get("confirm") != "1":
        return _outbox_page(
            request, who, db, services, f,
            preview={"action": "send", "ids": ids, "what": "queued message(s) would be sent now"},
        )  # fmt: skip
    result = _send_now(services, db, who)
    return _outbox_page(request, who, db, services, f, message=f"Send now: {result.line()}.")


@router.post("/admin/outbox/retry", response_class=HTMLResponse, include_in_schema=False)
async def outbox_retry(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """First press: which failed messages would be queued again. Confirmed: queue them."""
    _require(who)
    form, f = await _form(request)
    if form.get("confirm") != "1":
        ids = _failed(db)
        return _outbox_page(
            request, who, db, services, f,
            preview={"action": "retry", "ids": ids,
                     "what": "failed message(s) would be queued again with fresh attempts"},
        )  # fmt: skip
    ids = _retry(db, who)
    return _outbox_page(
        request, who, db, services, f,
        message=f"{len(ids)} failed message(s) queued again.",
    )  # fmt: skip


# -- JSON and CSV ------------------------------------------------------------------------


def _checked(status_: str, kind: str) -> Filter:
    f = Filter(status=status_, kind=kind)
    problem = f.problem()
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    return f


@router.get("/api/v1/outbox", response_model=OutboxPublic)
def outbox_json(
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    status_: Annotated[str, Query(alias="status", max_length=40)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = PAGE_SIZE,
) -> OutboxPublic:
    """The outbox, newest first (operators): filter by status and kind."""
    _require(who)
    f = _checked(status_, kind)
    total = db.scalar(select(func.count()).select_from(_query(f).subquery())) or 0
    rows = db.scalars(_query(f).order_by(OutboxMessage.id.desc()).offset(offset).limit(limit))
    return OutboxPublic(
        smtp_configured=bool(services.settings.smtp_host),
        counts=_counts(db),
        total=total,
        messages=[public(m) for m in rows],
    )


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ""


def export_csv(db: Session, f: Filter) -> str:
    """The outbox as CSV text (oldest first), every text cell formula-safe."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for m in db.scalars(_query(f).order_by(OutboxMessage.id)):
        p = public(m)
        w.writerow(
            [
                p.id, p.kind, p.status, csv_safe(p.to), csv_safe(p.subject), p.attempts,
                csv_safe(p.error), p.created_at.isoformat(), _iso(p.sent_at),
                _iso(p.last_attempt_at), p.applicant_id or "", p.cohort_id or "",
                csv_safe(p.body),
            ]
        )  # fmt: skip
    return buf.getvalue()


@router.get("/api/v1/outbox.csv", response_class=Response)
def outbox_csv(
    who: CurrentOperator,
    db: SessionDep,
    status_: Annotated[str, Query(alias="status", max_length=40)] = "",
    kind: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The outbox as CSV for a mail merge or an archive (operators)."""
    _require(who)
    f = _checked(status_, kind)
    name = "-".join(["outbox", *(x for x in (f.status, f.kind) if x)])
    return Response(
        export_csv(db, f),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.post("/api/v1/outbox/send", response_model=ActionPublic)
def outbox_send_json(
    body: ActionIn, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> ActionPublic:
    """Send every queued message now (``dry_run``: which would be tried)."""
    _require(who)
    if not services.settings.smtp_host:
        raise HTTPException(status.HTTP_409_CONFLICT, "SMTP is not configured (ASSESS_SMTP_HOST)")
    ids = _pending(db)
    if body.dry_run:
        return ActionPublic(dry_run=True, ids=ids)
    r = _send_now(services, db, who)
    return ActionPublic(
        dry_run=False, ids=r.sent + r.retrying + r.failed, sent=r.sent, retrying=r.retrying,
        failed=r.failed,
    )  # fmt: skip


@router.post("/api/v1/outbox/retry", response_model=ActionPublic)
def outbox_retry_json(body: ActionIn, who: CurrentOperator, db: SessionDep) -> ActionPublic:
    """Queue every failed message again (``dry_run``: which would be)."""
    _require(who)
    if body.dry_run:
        return ActionPublic(dry_run=True, ids=_failed(db))
    return ActionPublic(dry_run=False, ids=_retry(db, who))
