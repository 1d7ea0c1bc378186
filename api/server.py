"""How the service is served: uvicorn on h11, with a deadline for request headers.

uvicorn closes idle keep-alive connections but has no deadline for a request's headers: a
client sending one header byte a second holds a connection (and its memory) for as long
as it likes. :class:`TimedH11Protocol` closes a connection whose request line and headers
have not all arrived within ``header_timeout_s`` of the connection opening (or of the
previous response ending), with a 408. The body has its own deadlines, enforced in the
app (:class:`api.app.BodyGuard`), where the route's byte cap is known too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 36\r\n\r\nrequest headers not received in time"
)


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT_RESPONSE)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a request's headers are complete: the app has it
            self._disarm()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same deadline
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def server_for(app: FastAPI, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for `app` with the settings' header deadline."""
    settings = app.state.services.settings
    protocol = type(
        "ServiceH11Protocol", (TimedH11Protocol,), {"header_timeout_s": settings.header_timeout_s}
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, http=protocol, ws="none", lifespan="on"
    )
    return uvicorn.Server(config)


def serve(app: FastAPI, host: str, port: int, log_level: str = "info") -> None:
    """Run `app` until interrupted (what ``assess serve`` does)."""
    server_for(app, host, port, log_level).run()
