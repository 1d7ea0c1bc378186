"""Reviewer sign-in: a page and a JSON API, both setting the session cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from api import accounts, throttle
from api.deps import SESSION_COOKIE, CurrentReviewer, MaybePrincipal, ServicesDep, SessionDep
from api.models import User
from api.schemas import LoginIn, MePublic
from api.services import Services
from api.views import page

router = APIRouter(tags=["auth"])


def set_cookie(response: Response, services: Services, raw: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=services.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        path="/",
    )


def _login(
    services: Services, db: SessionDep, request: Request, username: str, password: str
) -> tuple[str, str, User]:
    """Check the throttle, then the password; count a failure (see api.throttle).

    Raises:
        HTTPException: 429 (wait: Retry-After), 423 (locked), or 401 (wrong).
    """
    settings = services.settings
    address = request.client.host if request.client else "unknown"
    refused = throttle.check(
        db, [throttle.user_key(username), throttle.addr_key(address)], settings
    )
    if refused is not None:
        db.commit()
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        raise HTTPException(refused.status_code, refused.detail, headers=headers)
    user = accounts.authenticate(db, username, password)
    if user is None:
        throttle.failed(db, username, address, settings)
        db.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    throttle.succeeded(db, username)
    accounts.purge_expired(db)
    raw, ws = accounts.start_session(db, hours=settings.session_hours, user=user)
    db.commit()
    return raw, ws.csrf_token, user


def _me(user: User, csrf: str) -> MePublic:
    return MePublic(kind=user.role, name=user.username, csrf_token=csrf)


@router.post("/api/v1/auth/login", response_model=MePublic)
def api_login(
    body: LoginIn, request: Request, response: Response, services: ServicesDep, db: SessionDep
) -> MePublic:
    """Sign in; the response sets the session cookie and carries the CSRF token.

    Throttled per username and per client address: 429 with Retry-After while a key must
    wait, 423 once a username is locked (an operator unlocks it)."""
    raw, csrf, user = _login(services, db, request, body.username, body.password)
    set_cookie(response, services, raw)
    return _me(user, csrf)


@router.post("/api/v1/auth/logout", status_code=204)
def api_logout(who: MaybePrincipal, db: SessionDep, response: Response) -> None:
    """End this session."""
    if who is not None and who.session is not None:
        accounts.end_session(db, who.session)
        db.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/api/v1/auth/me", response_model=MePublic)
def api_me(who: CurrentReviewer) -> MePublic:
    """Who is signed in (reviewer or operator), with the session's CSRF token."""
    assert who.user is not None
    return _me(who.user, who.csrf)


def _safe_next(target: str) -> str:
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, who: MaybePrincipal, next: str = "/") -> HTMLResponse:
    return page(request, "login.html.j2", who, next=_safe_next(next), error="")


@router.post("/login", include_in_schema=False, response_model=None)
def login_form(
    request: Request,
    services: ServicesDep,
    db: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        raw, _, _ = _login(services, db, request, username, password)
    except HTTPException as e:
        error = "Wrong username or password." if e.status_code == 401 else str(e.detail)
        # The username stays in the form; the password is never sent back.
        resp = page(
            request, "login.html.j2", None, next=_safe_next(next), error=error, username=username
        )
        resp.status_code = e.status_code
        resp.headers.update(e.headers or {})
        return resp
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(redirect, services, raw)
    return redirect


@router.post("/logout", include_in_schema=False)
def logout_form(who: MaybePrincipal, db: SessionDep) -> RedirectResponse:
    if who is not None and who.session is not None:
        accounts.end_session(db, who.session)
        db.commit()
    redirect = RedirectResponse("/login", status_code=303)
    redirect.delete_cookie(SESSION_COOKIE, path="/")
    return redirect
