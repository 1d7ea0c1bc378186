"""Operators: invitations (one, or a CSV), reviewer accounts, the audit log, and a page."""

from __future__ import annotations

from typing import Annotated

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


def _admin(
    request: Request, who: Principal, db: Session, services: Services, **extra: object
) -> HTMLResponse:
    cohorts = [cohort_public(db, c) for c in db.scalars(select(Cohort).order_by(Cohort.id))]
    return page(
        request,
        "admin.html.j2",
        who,
        cohorts=cohorts,
        tasks=db.scalars(select(TaskRow).order_by(TaskRow.id)).all(),
        audit=db.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(50)).all(),
        **{"invitations": [], "message": "", "error": "", **extra},
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
        resp = _admin(request, who, db, services, error=msg)
        resp.status_code = 422
        return resp
    db.commit()
    links = [_public(services, i) for i in invs]
    return _admin(request, who, db, services, invitations=links, message=f"{len(links)} invited")
