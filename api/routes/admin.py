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
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import accounts, throttle
from api.deps import CurrentOperator, OptionalRowId, Principal, RowId, ServicesDep, SessionDep
from api.models import Applicant, AuditEntry, Cohort, TaskRow, User
from api.notifications import queue_message
from api.reviewing import audit
from api.routes.cohorts import actor
from api.routes.cohorts import public as cohort_public
from api.schemas import (
    AuditPublic,
    ImportPublic,
    ImportRowPublic,
    InviteIn,
    InvitePublic,
    LoginLockPublic,
    UserIn,
    UserPublic,
    UserUpdate,
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


def invited(
    db: Session, services: Services, cohort: Cohort, inv: accounts.Invitation, who: Principal,
    *, action: str = "invite",
) -> InvitePublic:  # fmt: skip
    """After an invitation (new or re-issued): queue its e-mail and audit it; the public
    answer carries the link, shown once to the operator."""
    out = _public(services, inv)
    expires = inv.applicant.token_expires_at.strftime("%d %b %Y, %H:%M UTC")
    greeting = f"Hello {inv.applicant.name}," if inv.applicant.name else "Hello,"
    queue_message(
        db,
        kind="invitation",
        to=inv.applicant.email,
        subject=f"Your invitation to {cohort.name}",
        body=(
            f"{greeting}\n\nYou are invited to take the tasks of {cohort.name}.\n"
            f"Open your personal link to start (do not share it):\n{out.link}\n\n"
            f"The link works until {expires}."
        ),
        applicant_id=inv.applicant.id,
        cohort_id=cohort.id,
    )
    audit(db, actor=actor(who), action=action, submission_id=None, before={},
          after={"cohort": cohort.name, "applicant": inv.applicant.id,
                 "email": inv.applicant.email, "generation": inv.applicant.generation})  # fmt: skip
    return out


def revoked(db: Session, applicant: Applicant, who: Principal) -> None:
    """Revoke an applicant's invitation (its link and sessions end), audited."""
    accounts.revoke(db, applicant)
    audit(db, actor=actor(who), action="invite-revoke", submission_id=None, before={},
          after={"applicant": applicant.id, "email": applicant.email,
                 "generation": applicant.generation})  # fmt: skip


def import_rows(
    db: Session, services: Services, cohort: Cohort, text: str, who: Principal
) -> tuple[list[accounts.CsvRow], list[InvitePublic]]:
    """Check every row of a CSV again and invite the valid ones (each queued and audited)."""
    rows, invs = accounts.import_valid(db, cohort, text, services.settings.invite_days)
    return rows, [invited(db, services, cohort, i, who) for i in invs]


def read_csv(upload: UploadFile) -> str:
    """The text of an uploaded CSV (UTF-8, a BOM allowed), at most 2 MB.

    Raises:
        accounts.AccountError: too large, or not UTF-8.
    """
    data = upload.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise accounts.AccountError("CSV larger than 2 MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise accounts.AccountError("the CSV is not UTF-8 text") from None


def row_public(rows: list[accounts.CsvRow]) -> list[ImportRowPublic]:
    return [ImportRowPublic(line=r.line, email=r.email, ok=r.ok, reason=r.reason) for r in rows]


@router.post("/api/v1/invitations", response_model=InvitePublic, status_code=201)
def create_invitation(
    body: InviteIn, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> InvitePublic:
    """Invite one applicant (or re-issue their link: the previous one stops working).

    The invitation e-mail is queued in the outbox; the link is in this answer only."""
    cohort = _cohort_by_name(db, body.cohort)
    try:
        inv = accounts.invite(db, cohort, body.email, body.name, services.settings.invite_days)
    except accounts.AccountError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    out = invited(db, services, cohort, inv, who)
    db.commit()
    return out


@router.delete("/api/v1/invitations/{applicant_id}", status_code=204)
def revoke_invitation(applicant_id: RowId, who: CurrentOperator, db: SessionDep) -> None:
    """Revoke an applicant's invitation: the link and every session opened with it end."""
    applicant = db.get(Applicant, applicant_id)
    if applicant is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant")
    revoked(db, applicant, who)
    db.commit()


@router.post(
    "/api/v1/invitations/import",
    response_model=ImportPublic,
    status_code=201,
    responses={422: {"description": "a bad row (named in detail; rows lists every verdict)"}},
)
def import_invitations(
    cohort: Annotated[str, Form()],
    file: Annotated[UploadFile, File(description="CSV with an 'email' column, optional 'name'")],
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    valid_only: bool = False,
) -> ImportPublic | JSONResponse:
    """Invite the rows of a CSV, with a verdict per row (ok, or the reason).

    A row is refused for a missing or malformed e-mail, a duplicate within the file, or an
    applicant already invited to the cohort. With any row refused nothing is imported
    (422: ``detail`` names the rows, ``rows`` gives every verdict) unless ``valid_only=true``,
    which imports the valid rows and reports the others.
    """
    target = _cohort_by_name(db, cohort)
    try:
        text = read_csv(file)
        rows = accounts.check_csv(db, target, text)
    except accounts.AccountError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    bad = [r for r in rows if not r.ok]
    if not rows or (bad and not valid_only) or len(bad) == len(rows):
        named = "; ".join(f"line {r.line}: {r.reason}" for r in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        detail = (
            "the CSV has no rows"
            if not rows
            else f"nothing imported: {named}{more}"
            + ("" if len(bad) == len(rows) else " (send valid_only=true to import the valid rows)")
        )
        body = {"detail": detail, "rows": [r.model_dump() for r in row_public(rows)]}
        return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    rows, invs = import_rows(db, services, target, text, who)
    db.commit()
    return ImportPublic(
        rows=row_public(rows),
        valid=len(invs),
        invalid=len(rows) - len(invs),
        imported=len(invs),
        invitations=invs,
    )


def user_public(user: User, password: str | None = None) -> UserPublic:
    out = UserPublic.model_validate(user)
    out.password = password
    return out


def get_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such user")
    return user


def new_user(
    db: Session, who: Principal, username: str, role: str, password: str | None
) -> tuple[User, str]:
    """Create an account (a generated password when none is given), audited.

    Raises:
        accounts.AccountError: the username is taken.
    """
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise accounts.AccountError(f"the username {username!r} is taken")
    password = password or accounts.generated_password()
    user = accounts.create_user(db, username, password, role)
    audit(db, actor=actor(who), action="user-create", submission_id=None, before={},
          after={"user": username, "role": role})  # fmt: skip
    return user, password


def change_user(
    db: Session, who: Principal, user: User, *, active: bool | None = None,
    role: str | None = None, reset: bool = False,
) -> str | None:  # fmt: skip
    """Disable/enable, change the role, or reset the password of `user`, audited; returns a
    generated password to show once when reset.

    Raises:
        accounts.AccountError: an operator disabling or demoting their own account.
    """
    assert who.user is not None
    if user.id == who.user.id and (active is False or (role is not None and role != "operator")):
        raise accounts.AccountError(
            "you cannot disable or demote your own account: ask another operator"
        )
    before = {"user": user.username, "role": user.role, "active": user.active}
    if role is not None and role != user.role:
        accounts.set_role(db, user, role)
    if active is not None and active != user.active:
        accounts.set_active(db, user, active)
    password = accounts.reset_password(db, user) if reset else None
    after = {"user": user.username, "role": user.role, "active": user.active}
    if reset:
        before["password"], after["password"] = "old", "reset"
    if after != before:
        audit(db, actor=actor(who), action="user-change", submission_id=None,
              before=before, after=after)  # fmt: skip
    return password


@router.get("/api/v1/users", response_model=list[UserPublic])
def list_users(who: CurrentOperator, db: SessionDep) -> list[UserPublic]:
    """Every reviewer, operator and mentor account."""
    return [user_public(u) for u in db.scalars(select(User).order_by(User.username))]


@router.post("/api/v1/users", response_model=UserPublic, status_code=201)
def create_user(body: UserIn, who: CurrentOperator, db: SessionDep) -> UserPublic:
    """Create a reviewer, operator or mentor account. Without a ``password`` one is
    generated and returned in this answer only."""
    try:
        user, password = new_user(db, who, body.username, body.role, body.password)
        db.commit()
    except (IntegrityError, accounts.AccountError):
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "username taken") from None
    return user_public(user, None if body.password else password)


@router.patch("/api/v1/users/{user_id}", response_model=UserPublic)
def update_user(
    user_id: RowId, body: UserUpdate, who: CurrentOperator, db: SessionDep
) -> UserPublic:
    """Disable (their sessions end) or enable an account, change its role, or reset its
    password (``reset_password``: a generated one, in this answer only; sessions end)."""
    user = get_user(db, user_id)
    try:
        password = change_user(
            db, who, user, active=body.active, role=body.role, reset=body.reset_password
        )
    except accounts.AccountError as e:
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    db.commit()
    return user_public(user, password)


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
) -> HTMLResponse:
    """The hub's quick invitation of one applicant (a CSV goes through a cohort's
    invitations page, which shows every row's verdict before importing)."""
    try:
        target = _cohort_by_name(db, cohort)
        inv = accounts.invite(db, target, email, name, services.settings.invite_days)
    except (HTTPException, accounts.AccountError) as e:
        db.rollback()
        msg = str(e.detail) if isinstance(e, HTTPException) else str(e)
        # The form comes back as it was sent, with the one-line reason above it.
        sent = {"cohort": cohort, "email": email, "name": name}
        resp = _admin(request, who, db, services, error=msg, form=sent)
        resp.status_code = 422
        return resp
    links = [invited(db, services, target, inv, who)]
    db.commit()
    return _admin(request, who, db, services, invitations=links, message="1 invited")
