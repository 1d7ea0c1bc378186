"""Typed dependencies: the services, a database session, and who is asking.

Who is asking comes from the session cookie (browsers) or an ``Authorization: Bearer``
applicant token (scripts). Cookie-authenticated requests that change anything must carry
the session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``); bearer
requests need none, since a browser never attaches that header by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.security import same, token_hash
from api.models import Applicant, User, WebSession, utcnow
from api.services import Services

SESSION_COOKIE = "assess_session"
# Row ids are 32-bit on every backend (SQLite integers are 64-bit, PostgreSQL's INTEGER is
# not): an id outside this range names no row and is refused before any query (422).
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalRowId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


# The dependencies that only look at what they are given are coroutines: FastAPI runs a
# plain function in its thread pool, a hop out of the event loop and back for nothing (and
# under concurrent requests, a contended GIL hand-off and two context switches each).


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_db(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


@dataclass(frozen=True)
class Principal:
    """Who is asking: a reviewer/operator, or an applicant; `session` is None for bearer."""

    user: User | None
    applicant: Applicant | None
    session: WebSession | None

    @property
    def csrf(self) -> str:
        return self.session.csrf_token if self.session else ""


def _from_cookie(request: Request, db: Session) -> Principal | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    ws = db.get(WebSession, token_hash(raw))
    if ws is None or ws.expires_at < utcnow():
        return None
    user = db.get(User, ws.user_id) if ws.user_id else None
    applicant = db.get(Applicant, ws.applicant_id) if ws.applicant_id else None
    if user is not None and not user.active:
        return None
    if applicant is not None and (
        applicant.token_expires_at < utcnow() or ws.generation != applicant.generation
    ):
        return None  # the invitation expired, or was re-issued or revoked since sign-in
    return Principal(user=user, applicant=applicant, session=ws)


def _from_bearer(request: Request, db: Session) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    token = auth.split(" ", 1)[1].strip()
    applicant = db.scalar(select(Applicant).where(Applicant.token_hash == token_hash(token)))
    if applicant is None or applicant.token_expires_at < utcnow():
        return None
    return Principal(user=None, applicant=applicant, session=None)


async def _check_csrf(request: Request, who: Principal) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS") or who.session is None:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
    if not sent or not same(sent, who.session.csrf_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")


async def get_principal(request: Request, db: SessionDep) -> Principal | None:
    who = _from_bearer(request, db) or _from_cookie(request, db)
    if who is not None:
        await _check_csrf(request, who)
    return who


MaybePrincipal = Annotated[Principal | None, Depends(get_principal)]


def _unauthenticated(what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, f"sign in as {what}", headers={"WWW-Authenticate": "Bearer"}
    )


def _staff(who: Principal | None) -> Principal:
    if who is None or who.user is None:
        raise _unauthenticated("a reviewer")
    return who


async def get_staff(who: MaybePrincipal) -> Principal:
    """Any signed-in account: reviewer, operator, or mentor (whose pages check their streams)."""
    return _staff(who)


async def get_reviewer(who: MaybePrincipal) -> Principal:
    """A reviewer or an operator. A mentor is scoped to their streams: the cohort-wide
    dashboard, queues and submissions are not theirs to read."""
    who = _staff(who)
    assert who.user is not None
    if who.user.role == "mentor":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "mentors see their streams only")
    return who


async def get_operator(who: MaybePrincipal) -> Principal:
    if who is None or who.user is None:
        raise _unauthenticated("an operator")
    if who.user.role != "operator":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "operators only")
    return who


async def get_applicant(who: MaybePrincipal) -> Principal:
    if who is None or who.applicant is None:
        raise _unauthenticated("an applicant (use your invitation link)")
    return who


CurrentStaff = Annotated[Principal, Depends(get_staff)]
CurrentReviewer = Annotated[Principal, Depends(get_reviewer)]
CurrentOperator = Annotated[Principal, Depends(get_operator)]
CurrentApplicant = Annotated[Principal, Depends(get_applicant)]
