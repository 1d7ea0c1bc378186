"""The operator console in HTML: cohorts (window, tasks, weights, late policy), invitations
(one, or a CSV checked row by row before anything is stored), users, tasks (regrade and
integrity pass) and the audit log.

Every page is for operators only (:data:`CurrentOperator`), and every change goes through
the same function as its JSON API (:mod:`api.routes.cohorts`, :mod:`api.routes.admin`), so
both refuse the same input with the same words and write the same audit entries.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from api import accounts
from api.deps import CurrentOperator, Principal, RowId, ServicesDep, SessionDep
from api.models import (
    ROLES,
    Applicant,
    AuditEntry,
    Cohort,
    Grading,
    Job,
    Submission,
    TaskRow,
    User,
)
from api.routes import admin as admin_routes
from api.routes import tasks as task_routes
from api.routes.cohorts import budgets, csv_safe, get_cohort, public, update
from api.routes.cohorts import create as create_cohort
from api.schemas import CohortIn, CohortUpdate, IntegrityPublic, UserIn
from api.scoring import DEFAULT_WEIGHTS
from api.views import page

router = APIRouter(tags=["console"])
CSS = "/static/console.css"
AUDIT_PAGE = 50
AUDIT_CSV_MAX = 10_000
# The confirmation sends the previewed file back as a form field, and a form field is read
# up to 1 MiB (Starlette's limit): a page CSV stays under it.
PAGE_CSV_BYTES = 1_000_000


class FormError(ValueError):
    """A form field that cannot be read; the one-line message names it."""


def _error_line(e: ValidationError) -> str:
    """A pydantic error as one line naming the field (``grace_minutes: …``)."""
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    return f"{where}: {first['msg']}"


def _form_dict(form: Any) -> dict[str, str]:
    """The sent form as field -> text, to fill the form again after an error (the CSRF
    token and files are not echoed)."""
    return {k: v for k, v in form.multi_items() if isinstance(v, str) and k != "csrf_token"} | {
        "tasks": "\n".join(v for v in form.getlist("tasks") if isinstance(v, str))
    }


# -- cohorts -------------------------------------------------------------------------------


@functools.cache
def zones() -> list[str]:
    """IANA zone names for the window's select, UTC first."""
    return ["UTC", *sorted(z for z in zoneinfo.available_timezones() if z != "UTC")]


def _zone(name: str) -> zoneinfo.ZoneInfo:
    if name not in zones():
        raise FormError(f"time zone: unknown zone {name!r}")
    return zoneinfo.ZoneInfo(name)


def local_input(t: datetime | None, zone: str) -> str:
    """A stored UTC time as a datetime-local input's value in `zone`."""
    if t is None:
        return ""
    return t.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def parse_local(value: str, zone: str, field: str) -> datetime | None:
    """A datetime-local value read in `zone`, as UTC (None when empty).

    A wall time that a DST change skips or repeats resolves as zoneinfo does (the earlier
    offset); the page shows the UTC time it was stored as.
    """
    value = value.strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(f"{field}: not a date and time (YYYY-MM-DDTHH:MM)") from None
    if naive.tzinfo is not None:
        raise FormError(f"{field}: give the time without an offset; pick the zone instead")
    return naive.replace(tzinfo=_zone(zone)).astimezone(UTC)


def _int(form: dict[str, str], key: str, label: str) -> int | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormError(f"{label}: {text!r} is not a whole number") from None


def _weight_kinds(db: Session, cohort: Cohort | None) -> list[str]:
    """Task kinds a weight can be set for: the defaults', the loaded tasks', the cohort's."""
    kinds = dict.fromkeys(DEFAULT_WEIGHTS)
    kinds.update(dict.fromkeys(db.scalars(select(TaskRow.kind).distinct())))
    if cohort is not None:
        kinds.update(dict.fromkeys(cohort.weights))
    return list(kinds)


def settings_from_form(db: Session, form: dict[str, str], task_ids: list[str]) -> CohortUpdate:
    """The cohort form as a :class:`CohortUpdate` (the whole state: an empty window field
    clears it, an empty budget makes the task untimed).

    Raises:
        FormError: a field that is not a number, a date, a zone; or what the schema refuses.
    """
    zone = form.get("zone", "UTC")
    _zone(zone)
    weights: dict[str, float] = {}
    for kind in _weight_kinds(db, None) + [
        k.removeprefix("weight_") for k in form if k.startswith("weight_")
    ]:
        text = form.get(f"weight_{kind}", "").strip()
        if not text:
            continue
        try:
            weights[kind] = float(text)
        except ValueError:
            raise FormError(f"weight of {kind}: {text!r} is not a number") from None
        if not weights[kind] >= 0:  # also refuses nan
            raise FormError(f"weight of {kind}: must be 0 or more")
    budgets_: dict[str, int | None] = {}
    for tid in task_ids:
        budgets_[tid] = _int(form, f"budget_{tid}", f"time budget of {tid}")
        if budgets_[tid] is not None and budgets_[tid] <= 0:  # type: ignore[operator]
            raise FormError(f"time budget of {tid}: must be at least 1 minute (empty: untimed)")
    try:
        return CohortUpdate.model_validate(
            {
                "blind": form.get("blind") == "on",
                "weights": weights,
                "tasks": task_ids,
                "clear_window": True,
                "opens_at": parse_local(form.get("opens_local", ""), zone, "opens"),
                "closes_at": parse_local(form.get("closes_local", ""), zone, "closes"),
                "grace_minutes": _int(form, "grace_minutes", "grace minutes") or 0,
                "late_policy": form.get("late_policy") or "refuse",
                "regrade_days": _int(form, "regrade_days", "regrade days"),
                "judge_mode": form.get("judge_mode") or "off",
                "time_budgets": budgets_,
            }
        )
    except ValidationError as e:
        raise FormError(_error_line(e)) from None


def _cohort_rows(db: Session) -> list[dict[str, Any]]:
    counts = dict(
        db.execute(select(Applicant.cohort_id, func.count()).group_by(Applicant.cohort_id)).all()
    )
    return [
        {"cohort": public(db, c), "applicants": counts.get(c.id, 0)}
        for c in db.scalars(select(Cohort).order_by(Cohort.id))
    ]


def _cohorts_page(
    request: Request, who: Principal, db: Session, *, code: int = 200, **extra: Any
) -> HTMLResponse:
    resp = page(
        request,
        "console_cohorts.html.j2",
        who,
        css=CSS,
        rows=_cohort_rows(db),
        tasks=db.scalars(select(TaskRow).order_by(TaskRow.id)).all(),
        **{"error": "", "message": "", "form": {}, **extra},
    )
    resp.status_code = code
    return resp


@router.get("/admin/cohorts", response_class=HTMLResponse, include_in_schema=False)
def cohorts_page(request: Request, who: CurrentOperator, db: SessionDep) -> HTMLResponse:
    return _cohorts_page(request, who, db)


@router.post("/admin/cohorts", response_class=HTMLResponse, include_in_schema=False)
async def cohorts_create(request: Request, who: CurrentOperator, db: SessionDep) -> Response:
    raw = await request.form()
    form = _form_dict(raw)
    task_ids = [t for t in raw.getlist("tasks") if isinstance(t, str)]
    try:
        body = CohortIn(name=form.get("name", "").strip(), blind=form.get("blind") == "on",
                        tasks=task_ids)  # fmt: skip
        cohort = create_cohort(db, body, who)
    except ValidationError as e:
        db.rollback()
        return _cohorts_page(request, who, db, code=422, error=_error_line(e), form=form)
    except accounts.AccountError as e:
        db.rollback()
        return _cohorts_page(request, who, db, code=422, error=str(e), form=form)
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}?created=1", status_code=303)


def _cohort_page(
    request: Request,
    who: Principal,
    db: Session,
    cohort: Cohort,
    *,
    zone: str = "UTC",
    code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    c = public(db, cohort)
    form: dict[str, str] = extra.pop("form", None) or {
        "name": c.name,
        "zone": zone,
        "opens_local": local_input(c.opens_at, zone),
        "closes_local": local_input(c.closes_at, zone),
        "grace_minutes": str(c.grace_minutes),
        "late_policy": c.late_policy,
        "regrade_days": str(c.regrade_days),
        "judge_mode": c.judge_mode,
        "blind": "on" if c.blind else "",
        "tasks": "\n".join(c.tasks),
        **{f"weight_{k}": f"{v:g}" for k, v in c.weights.items()},
        **{f"budget_{t}": "" if m is None else str(m) for t, m in budgets(db, c.id).items()},
    }
    resp = page(
        request,
        "console_cohort.html.j2",
        who,
        css=CSS,
        cohort=c,
        form=form,
        chosen=form.get("tasks", "").split("\n"),
        zones=zones(),
        zone=form.get("zone", zone) if form.get("zone") in zones() else "UTC",
        kinds=_weight_kinds(db, cohort),
        tasks=db.scalars(select(TaskRow).order_by(TaskRow.id)).all(),
        applicants=db.scalar(select(func.count()).where(Applicant.cohort_id == cohort.id)),
        **{"error": "", "message": "", **extra},
    )
    resp.status_code = code
    return resp


@router.get("/admin/cohorts/{cohort_id}", response_class=HTMLResponse, include_in_schema=False)
def cohort_page(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    zone: str = "UTC",
    created: bool = False,
) -> HTMLResponse:
    """`zone` only chooses how the window's inputs read; what is stored is UTC."""
    cohort = get_cohort(db, cohort_id)
    zone = zone if zone in zones() else "UTC"
    message = "Cohort created: set its window and tasks below." if created else ""
    return _cohort_page(request, who, db, cohort, zone=zone, message=message)


@router.post("/admin/cohorts/{cohort_id}", response_class=HTMLResponse, include_in_schema=False)
async def cohort_save(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    cohort = get_cohort(db, cohort_id)
    raw = await request.form()
    form = _form_dict(raw)
    task_ids = [t for t in raw.getlist("tasks") if isinstance(t, str)]
    try:
        update(db, cohort, settings_from_form(db, form, task_ids), who)
    except (FormError, accounts.AccountError) as e:
        db.rollback()
        db.refresh(cohort)
        return _cohort_page(request, who, db, cohort, code=422, error=str(e), form=form)
    db.commit()
    zone = form.get("zone", "UTC")
    return _cohort_page(request, who, db, cohort, zone=zone, message="Cohort settings saved.")


# -- invitations -----------------------------------------------------------------------------


def _invitations_page(
    request: Request,
    who: Principal,
    db: Session,
    cohort: Cohort,
    *,
    code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    applicants = db.scalars(
        select(Applicant).where(Applicant.cohort_id == cohort.id).order_by(Applicant.id)
    ).all()
    ctx: dict[str, Any] = {
        "error": "", "message": "", "form": {}, "links": [], "rows": None, "csv_text": "",
    }  # fmt: skip
    ctx.update(extra)
    resp = page(
        request,
        "console_invitations.html.j2",
        who,
        css=CSS,
        cohort=cohort,
        applicants=applicants,
        now=datetime.now(UTC),
        **ctx,
    )
    resp.status_code = code
    return resp


@router.get(
    "/admin/cohorts/{cohort_id}/invitations", response_class=HTMLResponse, include_in_schema=False
)
def invitations_page(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    return _invitations_page(request, who, db, get_cohort(db, cohort_id))


@router.post(
    "/admin/cohorts/{cohort_id}/invitations", response_class=HTMLResponse, include_in_schema=False
)
def invitations_one(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    cohort = get_cohort(db, cohort_id)
    try:
        inv = accounts.invite(db, cohort, email, name, services.settings.invite_days)
    except accounts.AccountError as e:
        db.rollback()
        sent = {"email": email, "name": name}
        return _invitations_page(request, who, db, cohort, code=422, error=str(e), form=sent)
    link = admin_routes.invited(db, services, cohort, inv, who)
    db.commit()
    return _invitations_page(
        request, who, db, cohort, links=[link], message=f"Invited {link.email}."
    )


def _verdicts(rows: list[accounts.CsvRow]) -> tuple[int, int]:
    valid = sum(1 for r in rows if r.ok)
    return valid, len(rows) - valid


@router.post(
    "/admin/cohorts/{cohort_id}/invitations/preview",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def invitations_preview(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    csv_file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Every row's verdict; nothing is stored. The confirmation sends the file's text back
    and the server checks it all again (see :func:`invitations_import`)."""
    cohort = get_cohort(db, cohort_id)
    try:
        if csv_file is None or not csv_file.filename:
            raise accounts.AccountError("choose a CSV file to check")
        text = admin_routes.read_csv(csv_file)
        if len(text.encode()) > PAGE_CSV_BYTES:
            raise accounts.AccountError(
                "CSV larger than 1 MB: split it, or use POST /api/v1/invitations/import"
            )
        rows = accounts.check_csv(db, cohort, text)
        if not rows:
            raise accounts.AccountError("the CSV has no rows under its header")
    except accounts.AccountError as e:
        return _invitations_page(request, who, db, cohort, code=422, error=str(e))
    valid, invalid = _verdicts(rows)
    message = f"Checked {len(rows)} row(s): {valid} valid, {invalid} not. Nothing is stored yet."
    return _invitations_page(
        request, who, db, cohort, rows=rows, csv_text=text if valid else "", message=message
    )


@router.post(
    "/admin/cohorts/{cohort_id}/invitations/import",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def invitations_import(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    csv_text: Annotated[str, Form(max_length=PAGE_CSV_BYTES)] = "",
) -> HTMLResponse:
    """Import the valid rows of the previewed CSV. Its text comes back from the browser, so
    every row is checked again here (a row invited since the preview is refused now)."""
    cohort = get_cohort(db, cohort_id)
    try:
        rows, links = admin_routes.import_rows(db, services, cohort, csv_text, who)
    except accounts.AccountError as e:
        db.rollback()
        return _invitations_page(request, who, db, cohort, code=422, error=str(e))
    db.commit()
    invalid = _verdicts(rows)[1]
    message = f"Imported {len(links)} row(s); {invalid} row(s) not imported (reasons below)."
    return _invitations_page(request, who, db, cohort, rows=rows, links=links, message=message)


def _cohort_applicant(db: Session, cohort: Cohort, applicant_id: int) -> Applicant:
    applicant = db.get(Applicant, applicant_id)
    if applicant is None or applicant.cohort_id != cohort.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant in this cohort")
    return applicant


@router.post(
    "/admin/cohorts/{cohort_id}/invitations/{applicant_id}/resend",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def invitations_resend(
    cohort_id: RowId,
    applicant_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
) -> HTMLResponse:
    """A fresh link (the old one and its sessions stop working), e-mailed again."""
    cohort = get_cohort(db, cohort_id)
    applicant = _cohort_applicant(db, cohort, applicant_id)
    inv = accounts.invite(db, cohort, applicant.email, "", services.settings.invite_days)
    link = admin_routes.invited(db, services, cohort, inv, who, action="invite-resend")
    db.commit()
    message = f"New link for {link.email}; the previous one no longer works."
    return _invitations_page(request, who, db, cohort, links=[link], message=message)


@router.post(
    "/admin/cohorts/{cohort_id}/invitations/{applicant_id}/revoke",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def invitations_revoke(
    cohort_id: RowId, applicant_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    cohort = get_cohort(db, cohort_id)
    applicant = _cohort_applicant(db, cohort, applicant_id)
    admin_routes.revoked(db, applicant, who)
    db.commit()
    message = f"Revoked the invitation of {applicant.email}: the link and its sessions ended."
    return _invitations_page(request, who, db, cohort, message=message)


# -- users -----------------------------------------------------------------------------------


def _users_page(
    request: Request, who: Principal, db: Session, *, code: int = 200, **extra: Any
) -> HTMLResponse:
    resp = page(
        request,
        "console_users.html.j2",
        who,
        css=CSS,
        users=db.scalars(select(User).order_by(User.username)).all(),
        roles=ROLES,
        **{"error": "", "message": "", "form": {}, "shown": None, **extra},
    )
    resp.status_code = code
    return resp


@router.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(request: Request, who: CurrentOperator, db: SessionDep) -> HTMLResponse:
    return _users_page(request, who, db)


@router.post("/admin/users", response_class=HTMLResponse, include_in_schema=False)
def users_create(
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "reviewer",
    password: Annotated[str, Form()] = "",
) -> HTMLResponse:
    sent = {"username": username, "role": role}  # the password is never sent back
    try:
        body = UserIn(username=username.strip(), role=role, password=password or None)
        user, made = admin_routes.new_user(db, who, body.username, body.role, body.password)
    except ValidationError as e:
        return _users_page(request, who, db, code=422, error=_error_line(e), form=sent)
    except accounts.AccountError as e:
        db.rollback()
        return _users_page(request, who, db, code=422, error=str(e), form=sent)
    db.commit()
    shown = None if password else (user.username, made)
    return _users_page(request, who, db, message=f"Created {user.username}.", shown=shown)


@router.post("/admin/users/{user_id}", response_class=HTMLResponse, include_in_schema=False)
def users_change(
    user_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    action: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """One change to one account: ``disable``, ``enable``, ``reset`` or ``role``."""
    user = admin_routes.get_user(db, user_id)
    try:
        if action == "role" and role not in ROLES:
            raise accounts.AccountError(f"role must be one of {', '.join(ROLES)}")
        if action not in ("disable", "enable", "reset", "role"):
            raise accounts.AccountError(f"unknown action {action!r}")
        password = admin_routes.change_user(
            db,
            who,
            user,
            active={"disable": False, "enable": True}.get(action),
            role=role if action == "role" else None,
            reset=action == "reset",
        )
    except accounts.AccountError as e:
        db.rollback()
        return _users_page(request, who, db, code=422, error=str(e))
    db.commit()
    done = {
        "disable": f"Disabled {user.username}: their sessions ended.",
        "enable": f"Enabled {user.username}.",
        "reset": f"New password for {user.username} (their sessions ended).",
        "role": f"{user.username} is now {user.role}.",
    }[action]
    shown = (user.username, password) if password else None
    return _users_page(request, who, db, message=done, shown=shown)


# -- tasks: regrade and integrity ------------------------------------------------------------


def regrade_summary(db: Session, task: TaskRow, largest: int = 5) -> dict[str, Any]:
    """What the gradings at `task`'s current digest changed against the ones before them:
    how many were regraded, changed score or status, the largest score changes, and how
    many regrades are still queued or running."""
    prev = aliased(Grading)
    pairs = db.execute(
        select(Grading.submission_id, prev.score, Grading.score, prev.status, Grading.status)
        .join(prev, prev.id == Grading.previous_id)
        .join(Submission, Submission.id == Grading.submission_id)
        .where(Submission.task_id == task.id, Grading.task_digest == task.digest)
    ).all()
    changes = []
    for sid, before, after, s_before, s_after in pairs:
        delta = None if before is None or after is None else after - before
        changes.append((sid, before, after, s_before, s_after, delta))
    moved = [c for c in changes if c[1] != c[2]]
    moved.sort(key=lambda c: -abs(c[5]) if c[5] is not None else 0)
    pending = db.scalar(
        select(func.count())
        .select_from(Job)
        .join(Submission, Submission.id == Job.submission_id)
        .where(Submission.task_id == task.id, Job.state.in_(("queued", "running")))
    )
    return {
        "regraded": len(changes),
        "score_changed": len(moved),
        "status_changed": sum(1 for c in changes if c[3] != c[4]),
        "largest": moved[:largest],
        "pending": pending or 0,
    }


def _tasks_page(
    request: Request, who: Principal, db: Session, *, code: int = 200, **extra: Any
) -> HTMLResponse:
    tasks = db.scalars(select(TaskRow).order_by(TaskRow.id)).all()
    resp = page(
        request,
        "console_tasks.html.j2",
        who,
        css=CSS,
        tasks=[(t, regrade_summary(db, t)) for t in tasks],
        **{"error": "", "message": "", "integrity": None, **extra},
    )
    resp.status_code = code
    return resp


@router.get("/admin/tasks", response_class=HTMLResponse, include_in_schema=False)
def tasks_page(request: Request, who: CurrentOperator, db: SessionDep) -> HTMLResponse:
    return _tasks_page(request, who, db)


@router.post("/admin/tasks/{task_id}/regrade", response_class=HTMLResponse, include_in_schema=False)
def tasks_regrade(
    task_id: str, request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    done = task_routes.regrade(task_id, who, db, services)
    message = (
        f"{task_id}: {done.queued} submission(s) queued for regrading at digest "
        f"{done.digest[:12]}; the summary below fills in as they finish (reload the page)."
        if done.queued
        else f"{task_id}: every submission is already graded at digest {done.digest[:12]}."
    )
    return _tasks_page(request, who, db, message=message)


@router.post(
    "/admin/tasks/{task_id}/integrity", response_class=HTMLResponse, include_in_schema=False
)
def tasks_integrity(
    task_id: str, request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    done: IntegrityPublic = task_routes.integrity(task_id, who, db, services)
    message = (
        f"Integrity pass on {task_id}: {done.compared} submission(s) compared, "
        f"{len(done.flagged_pairs)} pair(s) flagged."
    )
    return _tasks_page(request, who, db, message=message, integrity=done)


# -- audit log -------------------------------------------------------------------------------


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FormError(f"{field}: not a date (YYYY-MM-DD)") from None


def audit_query(filters: dict[str, str]) -> Select[AuditEntry]:
    """The audit entries the filters select, newest first: actor (part of it), action
    (exact), submission id, from/to (UTC days, both included), before (an entry id: the
    older page).

    Raises:
        FormError: a filter that cannot be read.
    """
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if filters.get("actor", "").strip():
        q = q.where(AuditEntry.actor.contains(filters["actor"].strip(), autoescape=True))
    if filters.get("action", "").strip():
        q = q.where(AuditEntry.action == filters["action"].strip())
    for key, label in (("submission", "submission"), ("before", "page")):
        text = filters.get(key, "").strip()
        if text:
            if not text.isdigit() or not 1 <= int(text) < 2**31:
                raise FormError(f"{label}: {text!r} is not an id")
            column = AuditEntry.submission_id if key == "submission" else AuditEntry.id
            q = q.where(column == int(text) if key == "submission" else column < int(text))
    start, end = _day(filters.get("from", ""), "from"), _day(filters.get("to", ""), "to")
    if start and end and end < start:
        raise FormError("to: the range ends before it starts")
    if start:
        q = q.where(AuditEntry.at >= datetime.combine(start, time(), UTC))
    if end:
        q = q.where(AuditEntry.at < datetime.combine(end + timedelta(days=1), time(), UTC))
    return q


def plain_json(value: dict[str, Any]) -> str:
    """An audit side as one line of JSON text (printed escaped, never as markup)."""
    return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=str)


_FILTERS = ("actor", "action", "submission", "from", "to")


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(request: Request, who: CurrentOperator, db: SessionDep) -> HTMLResponse:
    filters = {k: request.query_params.get(k, "") for k in (*_FILTERS, "before")}
    actions = db.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    error, code, entries = "", 200, []
    try:
        entries = list(db.scalars(audit_query(filters).limit(AUDIT_PAGE + 1)))
    except FormError as e:
        error, code = str(e), 422
    older = entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None
    kept = {k: v for k, v in filters.items() if k != "before" and v}
    resp = page(
        request,
        "console_audit.html.j2",
        who,
        css=CSS,
        entries=[(a, plain_json(a.before), plain_json(a.after)) for a in entries[:AUDIT_PAGE]],
        actions=actions,
        filters=filters,
        kept=kept,
        older=older,
        error=error,
    )
    resp.status_code = code
    return resp


@router.get("/admin/audit.csv", include_in_schema=False)
def audit_csv(request: Request, who: CurrentOperator, db: SessionDep) -> Response:
    """The filtered audit log (at most 10,000 entries, newest first) as CSV; every text
    cell is formula-safe."""
    filters = {k: request.query_params.get(k, "") for k in _FILTERS}
    try:
        q = audit_query(filters).limit(AUDIT_CSV_MAX)
    except FormError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "at", "actor", "action", "submission", "before", "after"])
    for a in db.scalars(q):
        w.writerow(
            [a.id, a.at.isoformat(timespec="seconds"), csv_safe(a.actor), csv_safe(a.action),
             a.submission_id or "", csv_safe(plain_json(a.before)), csv_safe(plain_json(a.after))]
        )  # fmt: skip
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
