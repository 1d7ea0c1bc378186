"""App factory. Nothing is built at import time: settings and clients come in here.

``create_app()`` reads :class:`~api.core.config.Settings` from the environment; tests pass
their own settings and, where they do not need Docker, their own grading function. Start-up
(the lifespan) migrates the database, loads the task folders and starts the job queue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import grader
from api.core.config import Settings
from api.core.db import migrate, transaction
from api.routes import admin, applicants, auth, cohorts, health, submissions, tasks
from api.services import GradeFn, Services, build_services

log = logging.getLogger("assess.api")
STATIC = Path(__file__).parent / "static"
# Pages: our own script and styles only; nothing inline runs.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


class BodyLimit:
    """Refuse request bodies over `max_bytes` while they arrive (413), chunked or not."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


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


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body larger than {limit} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
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
    with transaction(services.sessions) as session:
        loaded, problems = catalog.sync_tasks(session, s.tasks_dirs)
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
        start(services)
        try:
            yield
        finally:
            if services.queue is not None:
                services.queue.stop()
            services.engine.dispose()

    app = FastAPI(
        title="assess",
        version=grader.__version__,
        summary="Grading service: applicant portal, reviewer dashboard, rubric scoring.",
        lifespan=lifespan,
    )
    app.state.services = services
    for module in (health, auth, applicants, submissions, tasks, cohorts, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(DropEmptyQuery)

    @app.exception_handler(HTTPException)
    async def _html_login(request: Request, exc: HTTPException) -> Response:
        # People get the sign-in page; the JSON API keeps its 401 with a JSON body.
        if exc.status_code == 401 and _wants_html(request):
            target = "/login" if not request.url.path.startswith("/portal") else "/portal-expired"
            return RedirectResponse(f"{target}?next={request.url.path}", status_code=303)
        return await http_exception_handler(request, exc)

    @app.middleware("http")
    async def _headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
            response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        return response

    return app


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or request.method != "GET":
        return False
    return "text/html" in request.headers.get("accept", "")
