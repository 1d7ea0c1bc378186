"""App factory. Nothing is built at import time: settings and clients come in here.

``create_app()`` reads :class:`~api.core.config.Settings` from the environment; tests pass
their own settings and, where they do not need Docker, their own grading function. Start-up
(the lifespan) migrates the database, loads the task folders and starts the job queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import grader
from api.core.config import Settings
from api.core.db import migrate, transaction
from api.deps import Principal
from api.routes import (
    admin,
    applicants,
    attempts,
    auth,
    cohorts,
    comments,
    console,
    decisions,
    files,
    health,
    judging,
    outbox,
    queue,
    review,
    streams,
    submissions,
    tasks,
)
from api.services import GradeFn, Services, build_services
from api.uploads import refresh_upload_limits

log = logging.getLogger("assess.api")
# The upload routes (API and portal form): their body cap is the task's.
UPLOAD_PATH = re.compile(r"^/(?:api/v1/me|portal)/tasks/([^/]+)/submissions$")
STATIC = Path(__file__).parent / "static"
# Swagger UI's files as the fastapi-offline package installs them (no CDN at run time).
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
PUBLIC_ASSETS = ("/static/", "/docs-assets/")
# Pages: our own script and styles only; nothing inline runs.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


class BodyGuard:
    """Deadlines and a byte cap for every request body, enforced while it arrives.

    * The cap is ``limit_for(scope)``: an upload's is its task's, any other request's the
      service's. A declared Content-Length over it is refused before reading anything; a
      body (chunked or not) that grows past it is refused the moment it does.
    * No gap between two parts of the body may exceed ``idle_s``; once the body has taken
      longer than ``idle_s``, it must have arrived at ``min_rate`` bytes/s on average.

    A refusal is a 413 or 408 with ``Connection: close``: the rest of the body is never read
    and the server closes the connection. Whatever the app answers after that is dropped.
    """

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[Scope], int],
        idle_s: float,
        min_rate: int,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.idle_s = idle_s
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"request body larger than {limit} bytes")
            return
        seen = 0
        body_done = False
        started = False
        refused = False
        t0 = time.monotonic()

        async def refuse(status_code: int, detail: str) -> NoReturn:
            nonlocal refused
            if not started and not refused:
                refused = True
                await _refuse(send, status_code, detail)
            raise _Refused(detail)

        async def guarded() -> Message:
            nonlocal seen, body_done
            if refused:
                return {"type": "http.disconnect"}
            if body_done:  # after the body: only a disconnect can come, whenever it comes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=self.idle_s)
            except TimeoutError:
                await refuse(408, "request body not received in time")
            if message["type"] != "http.request":
                return message
            seen += len(message.get("body", b""))
            body_done = not message.get("more_body", False)
            if seen > limit:
                await refuse(413, f"request body larger than {limit} bytes")
            elapsed = time.monotonic() - t0
            if not body_done and elapsed > self.idle_s and seen < self.min_rate * elapsed:
                await refuse(408, "request body arriving too slowly")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded, tracking_send)
        except Exception:
            # The app may re-raise our refusal, or fail parsing a body cut short; either way
            # the answer has been sent. Anything else is the app's own error.
            if not refused:
                raise


class SameOrigin:
    """Refuse a state-changing request that a browser sent from another site (403).

    Cookie sessions also need their CSRF token; this covers what has no session yet, above
    all the sign-in form (login CSRF: a foreign page signing the browser into an attacker's
    account). A browser names the page that sent a request in ``Origin`` (and ``Referer``);
    when either is present it must be this service: the request's own scheme and host, or
    the configured base URL. ``Origin: null`` (sandboxed frames, data: pages) is foreign.
    Requests with neither header (scripts, curl) and bearer requests (no browser attaches
    one by itself) pass.
    """

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.base_origin = _origin(base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(scope.get("headers", []))
            bearer = headers.get(b"authorization", b"").lower().startswith(b"bearer ")
            sent = headers.get(b"origin") or headers.get(b"referer")
            if sent is not None and not bearer:
                host = headers.get(b"host", b"").decode("latin-1")
                own = {f"{scope.get('scheme', 'http')}://{host}".lower(), self.base_origin}
                origin = _origin(sent.decode("latin-1"))
                if not origin or origin not in own:
                    await _refuse(send, 403, "cross-site request refused")
                    return
        await self.app(scope, receive, send)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of `url`, lower-case; "" for anything else (e.g. "null")."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


class DropEmptyQuery:
    """GET forms send every field; an empty one means "not given", so drop it before the
    typed query parameters are validated (``cohort=`` would otherwise be a 422)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "GET" and scope.get("query_string"):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if v != ""]
            if len(kept) != len(pairs):
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)


class SecurityHeaders:
    """The headers every answer carries, set on its start message (a plain ASGI middleware:
    Starlette's ``@app.middleware("http")`` runs each request through a task group and
    memory streams).

    Pages and JSON carry tokens (invitation links, CSRF tokens) and applicants' data: no
    cache, shared or private, may keep them; only the static assets are cacheable. Pages
    also get the content security policy and may be framed only by the service itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope.get("path", "").startswith(PUBLIC_ASSETS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                    headers.setdefault("Content-Security-Policy", PAGE_CSP)
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, with_headers)


class _Refused(Exception):
    pass


async def _refuse(send: Send, status_code: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def start(services: Services) -> None:
    """Migrate, load the tasks, start the queue (what the lifespan does on start-up)."""
    from api import catalog
    from api.queue import CeleryQueue, InProcessQueue, JobQueue, pool_size

    s = services.settings
    if s.auto_migrate:
        migrate(services.engine)
    stale = services.blobs.clean_staging()
    if stale:
        log.info("removed %d upload staging file(s) left by dead processes", len(stale))
    with transaction(services.sessions) as session:
        loaded, problems = catalog.sync_tasks(session, s.tasks_dirs)
        refresh_upload_limits(services, session)
    log.info("tasks loaded: %s (%d folders skipped)", ", ".join(loaded) or "none", len(problems))
    queue: JobQueue
    if s.broker_url:
        queue = CeleryQueue(services, s.broker_url)
    else:
        cpus = [
            catalog.load(str(t)).spec.resources.cpus
            for t in catalog.task_folders(s.tasks_dirs)
            if t.name in loaded
        ]
        queue = InProcessQueue(services, pool_size(s.workers, cpus) if s.workers else 0)
    services.queue = queue
    queue.start()


def create_app(settings: Settings | None = None, *, grade_fn: GradeFn | None = None) -> FastAPI:
    """Build the service app (connections open lazily; start-up work runs in the lifespan)."""
    settings = settings or Settings()
    services = build_services(settings, grade_fn)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from api.notifications import OutboxLoop

        start(services)
        # Reminders are queued, and mail sent when SMTP is configured, every ~30 s.
        outbox_loop = OutboxLoop(services.settings, services.sessions).start()
        try:
            yield
        finally:
            outbox_loop.stop()
            if services.queue is not None:
                services.queue.stop()
            services.engine.dispose()

    app = FastAPI(
        title="assess",
        version=grader.__version__,
        summary="Grading service: applicant portal, reviewer dashboard, rubric scoring.",
        lifespan=lifespan,
        # /docs is served below from installed assets: FastAPI's own page loads them from a
        # CDN with an inline script, both of which the pages' CSP forbids.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    for module in (
        health,
        auth,
        applicants,
        submissions,
        review,
        queue,
        comments,
        files,
        tasks,
        cohorts,
        admin,
        streams,
        attempts,
        decisions,
        console,
        outbox,
        judging,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> Response:
        from api.views import templates

        return templates().TemplateResponse(
            request, "docs.html.j2", {"title": app.title, "openapi_url": app.openapi_url}
        )

    app.add_middleware(DropEmptyQuery)
    app.add_middleware(SameOrigin, base_url=settings.base_url)

    def limit_for(scope: Scope) -> int:
        found = UPLOAD_PATH.match(scope.get("path", ""))
        if scope.get("method") == "POST" and found:
            return services.upload_limits.get(found.group(1), settings.max_upload_bytes)
        return settings.max_upload_bytes

    app.add_middleware(
        BodyGuard,
        limit_for=limit_for,
        idle_s=settings.body_timeout_s,
        min_rate=settings.min_body_rate,
    )

    @app.exception_handler(StarletteHTTPException)
    async def _html_login(request: Request, exc: StarletteHTTPException) -> Response:
        # People get the sign-in page, and other errors as a page in the site's layout; the
        # JSON API and scripts keep their JSON body. The status code stays the same.
        if exc.status_code == 401 and _wants_html(request):
            target = "/login" if not request.url.path.startswith("/portal") else "/portal-expired"
            return RedirectResponse(f"{target}?next={request.url.path}", status_code=303)
        if _browser(request) and exc.status_code >= 400:
            return error_page(request, exc.status_code, str(exc.detail), exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _html_invalid(request: Request, exc: RequestValidationError) -> Response:
        if _browser(request):
            return error_page(request, 422, _one_line(exc))
        return await request_validation_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def _html_crash(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception and re-raises it after this answer; the answer names
        # nothing of it (no paths, no values), for people and scripts alike.
        if _browser(request):
            return error_page(request, 500, "The server failed to answer this request.")
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    # Outermost of ours: every answer of the app leaves through it.
    app.add_middleware(SecurityHeaders)

    return app


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or request.method != "GET":
        return False
    return "text/html" in request.headers.get("accept", "")


def _browser(request: Request) -> bool:
    """A person's browser asking for a page (any method), not the JSON API or a script."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    422: "Bad request parameters",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _one_line(exc: RequestValidationError) -> str:
    """The request's bad parameters in one line: where, what was wrong, what was sent."""
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(x) for x in e.get("loc", ())[1:]) or "request"
        sent = e.get("input")
        shown = f" (got {str(sent)[:40]!r})" if isinstance(sent, str | int | float) else ""
        parts.append(f"{where}: {e.get('msg', 'invalid')}{shown}")
    return "; ".join(parts) or "the request's parameters are not valid"


def _signed_in(request: Request) -> Principal | None:
    """Who is signed in with this browser, for the page's header; None when that cannot be
    told (no session, or the database is what failed)."""
    from api.deps import _from_cookie

    try:
        with request.app.state.services.sessions() as db:
            who = _from_cookie(request, db)
            if who is not None:
                db.expunge_all()  # the header reads names after the session closes
            return who
    except Exception:
        log.warning("error page: could not tell who is signed in", exc_info=True)
        return None


def error_page(
    request: Request, code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An error as a page in the site's layout: the status kept, one line of what was
    wrong, and a link back to where the person came from."""
    from api.views import templates

    who = _signed_in(request)
    path = request.url.path
    back = ("/portal", "your tasks") if path.startswith("/portal") else ("/review", "the dashboard")
    # Through the one template environment, as every page (autoescape on; the escaping
    # tests see which template answered).
    response = templates().TemplateResponse(
        request,
        "error.html.j2",
        {
            "who": who,
            "csrf": who.csrf if who else "",
            "code": code,
            "title": ERROR_TITLES.get(code, "Error"),
            "message": " ".join(message.split())[:500],
            "back": back,
        },
        status_code=code,
        headers=dict(headers or {}),
    )
    # A 500 answer leaves through the outermost middleware, past the one that adds these.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
