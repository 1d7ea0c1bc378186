"""Operators: invitations (one, or a CSV), reviewer accounts, the audit log, and a page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import (
    APIRouter,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    UploadFile,
    status,
)
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import accounts, throttle
from api.deps import CurrentOperator, OptionalRowId, Principal, RowId, ServicesDep, SessionDep
from api.models import Applicant, AuditEntry, Cohort, TaskRow
from api.routes.cohorts import public as cohort_public
from api.schemas import (
    AuditPublic,
    InviteIn,
    InvitePublic,
    LoginLockPublic,
    UserIn,
    UserPublic,
)
from api.services import Services
from api.views import page

router = APIRouter(tags=["operators"])
MAX_CSV_BYTES = 2_000_000


def _cohort_by_name(db: Session, name: str) -> Cohort:
    cohort = db.scalar(select(Cohort).where(Cohort.name == name))
    if cohort is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no cohort named {name!r}")
    return cohort


def _public(services: Services, inv: accounts.Invitation) -> InvitePublic:
    return InvitePublic(
        applicant_id=inv.applicant.id,
        email=inv.applicant.email,
        link=inv.link(services.settings.base_url),
        token=inv.token,
        expires_at=inv.applicant.token_expires_at,
    )


@router.post("/api/v1/invitations", response_model=InvitePublic, status_code=201)
def create_invitation(
    body: InviteIn, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> InvitePublic:
    """Invite one applicant (or re-issue their link: the previous one stops working)."""
    cohort = _cohort_by_name(db, body.cohort)
    inv = accounts.invite(db, cohort, body.email, body.name, services.settings.invite_days)
    db.commit()
    return _public(services, inv)


@router.delete("/api/v1/invitations/{applicant_id}", status_code=204)
def revoke_invitation(applicant_id: RowId, who: CurrentOperator, db: SessionDep) -> None:
    """Revoke an applicant's invitation: the link and every session opened with it end."""
    applicant = db.get(Applicant, applicant_id)
    if applicant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant")
    accounts.revoke(db, applicant)
    db.commit()


@router.post("/api/v1/invitations/import", response_model=list[InvitePublic], status_code=201)
def import_invitations(
    cohort: Annotated[str, Form()],
    file: Annotated[UploadFile, File(description="CSV with an 'email' column, optional 'name'")],
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
) -> list[InvitePublic]:
    """Invite every row of a CSV; all rows or none."""
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "CSV larger than 2 MB")
    try:
        text = data.decode("utf-8-sig")
        invs = accounts.import_csv(
            db, _cohort_by_name(db, cohort), text, services.settings.invite_days
        )
    except (UnicodeDecodeError, accounts.AccountError) as e:
        db.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    return [_public(services, i) for i in invs]


@router.post("/api/v1/users", response_model=UserPublic, status_code=201)
def create_user(body: UserIn, who: CurrentOperator, db: SessionDep) -> UserPublic:
    """Create a reviewer or operator account (or reset its password)."""
    try:
        user = accounts.create_user(db, body.username, body.password, body.role)
        db.commit()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, "username taken") from None
    return UserPublic(id=user.id, username=user.username, role=user.role)


@router.get("/api/v1/login-locks", response_model=list[LoginLockPublic])
def login_locks(who: CurrentOperator, db: SessionDep) -> list[LoginLockPublic]:
    """Usernames and addresses locked or waiting after failed sign-ins."""
    return [LoginLockPublic.model_validate(r) for r in throttle.locks(db)]


@router.delete("/api/v1/login-locks/{username}", status_code=204)
def unlock_login(
    username: Annotated[str, Path(max_length=200)], who: CurrentOperator, db: SessionDep
) -> None:
    """Lift a username's sign-in lock and delay (audited)."""
    assert who.user is not None
    if not throttle.unlock(db, username, actor=f"operator:{who.user.username}"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "that username is not locked")
    db.commit()


@router.get("/api/v1/audit", response_model=list[AuditPublic])
def audit_log(
    who: CurrentOperator,
    db: SessionDep,
    submission: OptionalRowId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditPublic]:
    """Score changes, newest first: who, when, before, after."""
    q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if submission is not None:
        q = q.where(AuditEntry.submission_id == submission)
    return [AuditPublic.model_validate(a) for a in db.scalars(q)]


# Audit values that are fractions of a mark (0..1): shown as percentages.
_FRACTIONS = {"task_score", "manual_frac", "composite"}
# Audit keys as people say them; other keys lose their underscores.
_LABELS = {"task_score": "task score", "manual_frac": "rubric", "review_count": "reviews",
           "integrity_flag": "integrity flag", "score": "automatic score"}  # fmt: skip


def shown_value(key: str, value: object) -> str:
    """One audit value as a person reads it: ``0.826667`` → ``82.7%`` for a fraction of a
    mark, other numbers to two decimals at most, ``True`` → ``yes``, nothing → ``—``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if key in _FRACTIONS:
            return f"{100 * value:.1f}%"
        return f"{round(value, 2):g}"
    if isinstance(value, list):
        return ", ".join(shown_value(key, v) for v in value) or "—"
    text = str(value)
    if (key == "sha256" or key.endswith("digest")) and len(text) > 16:
        return text[:12] + "…"  # enough to tell two apart; the API has the whole hash
    return text


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested audit values as ``{"review clarity": "7", "task score": "82.7%"}``.

    A review's scores are labelled by criterion; a submission's own fields need no prefix
    (the row names the submission).
    """
    out: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            inner = "" if key in ("submission", "scores") else key
            out.update(_flatten(value, f"{prefix} {inner}".strip()))
        else:
            out[f"{prefix} {_LABELS.get(key, key.replace('_', ' '))}".strip()] = shown_value(
                key, value
            )
    return out


def change_lines(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], list[str]]:
    """An audit entry's before and after as ``label: value`` lines, each side listing only
    what changed when both sides are there (a review that moved the task score from 40.0%
    to 62.5% reads as just that)."""
    old, new = _flatten(before), _flatten(after)
    if old and new:
        keys = [k for k in dict.fromkeys([*old, *new]) if old.get(k, "—") != new.get(k, "—")]
        old = {k: old.get(k, "—") for k in keys}
        new = {k: new.get(k, "—") for k in keys}
    return [f"{k}: {v}" for k, v in old.items()], [f"{k}: {v}" for k, v in new.items()]


def _admin(
    request: Request, who: Principal, db: Session, services: Services, **extra: object
) -> HTMLResponse:
    cohorts = [cohort_public(db, c) for c in db.scalars(select(Cohort).order_by(Cohort.id))]
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)).all()
    audit = [(a, *change_lines(a.before or {}, a.after or {})) for a in entries]
    return page(
        request,
        "admin.html.j2",
        who,
        cohorts=cohorts,
        tasks=db.scalars(select(TaskRow).order_by(TaskRow.id)).all(),
        audit=audit,
        **{"invitations": [], "message": "", "error": "", "form": {}, **extra},
    )


@router.get("/admin", response_class=HTMLResponse, include_in_schema=False)
def admin_page(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    return _admin(request, who, db, services)


@router.post("/admin/invite", response_class=HTMLResponse, include_in_schema=False)
def admin_invite(
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    cohort: Annotated[str, Form()],
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    csv_file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    try:
        target = _cohort_by_name(db, cohort)
        days = services.settings.invite_days
        if csv_file is not None and csv_file.filename:
            text = csv_file.file.read(MAX_CSV_BYTES).decode("utf-8-sig")
            invs = accounts.import_csv(db, target, text, days)
        else:
            invs = [accounts.invite(db, target, email, name, days)]
    except (HTTPException, accounts.AccountError, UnicodeDecodeError) as e:
        db.rollback()
        msg = str(e.detail) if isinstance(e, HTTPException) else str(e)
        # The form comes back as it was sent, with the one-line reason above it.
        sent = {"cohort": cohort, "email": email, "name": name}
        resp = _admin(request, who, db, services, error=msg, form=sent)
        resp.status_code = 422
        return resp
    db.commit()
    links = [_public(services, i) for i in invs]
    return _admin(request, who, db, services, invitations=links, message=f"{len(links)} invited")
