"""The live server (uvicorn as ``assess serve`` runs it) against slow and oversized requests,
over raw sockets: what a client that does not play along actually gets."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from api.app import create_app
from tests.api.conftest import PY_EXEC, fake_grade, make_settings
from tests.api.live import running

# py-exec allows 100 kB; with the 1 MiB archive slack its cap is 1,148,576 bytes.
TASK_CAP = 100_000 + (1 << 20)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    stack = []

    def start(**kw: object) -> str:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC,), **kw)
        cm = running(create_app(settings, grade_fn=fake_grade))
        stack.append(cm)
        return cm.__enter__()

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def _connect(url: str) -> socket.socket:
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    return s


def _answer(s: socket.socket, deadline: float = 10) -> tuple[bytes, bool]:
    """Everything the server sends until it closes (or `deadline` s pass): (data, closed)."""
    s.settimeout(0.2)
    data = b""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            got = s.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data, True
        if not got:
            return data, True
        data += got
    return data, False


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


def _upload_head(extra: str) -> bytes:
    return (
        "POST /api/v1/me/tasks/py-exec/submissions HTTP/1.1\r\nHost: t\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n" + extra + "\r\n"
    ).encode()


def _stream_until_answered(s: socket.socket, total: int, chunked: bool) -> tuple[int, bytes]:
    """Send up to `total` body bytes in 64 KiB pieces until the server answers; return how
    many were sent and the answer's first bytes."""
    piece = b"x" * 65536
    sent = 0
    s.settimeout(0.05)
    start = b"--b\r\nContent-Disposition: form-data; name=file; filename=s.zip\r\n\r\n"
    try:
        s.sendall((b"%x\r\n%s\r\n" % (len(start), start)) if chunked else start)
        while sent < total:
            s.sendall((b"%x\r\n%s\r\n" % (len(piece), piece)) if chunked else piece)
            sent += len(piece)
            try:
                got = s.recv(65536)
            except TimeoutError:
                continue
            return sent, got
    except (BrokenPipeError, ConnectionResetError):
        pass
    data, _ = _answer(s, 5)
    return sent, data


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_task_cap_stops_a_body_while_it_streams(serve: Callable[..., str], chunked: bool) -> None:
    url = serve()
    total = 40_000_000
    s = _connect(url)
    head = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total}\r\n"
    # The body is counted against the task's cap, whatever the client declares: a lying
    # Content-Length below the cap changes nothing.
    s.sendall(_upload_head(head))
    sent, got = _stream_until_answered(s, total, chunked)
    rest, closed = _answer(s, 5)
    s.close()
    assert _status(got + rest) == 413, (got + rest)[:200]
    assert b"connection: close" in (got + rest).lower()
    assert closed
    # Stopped near the task's cap (plus what was in flight), far below the 40 MB sent at it.
    assert sent < TASK_CAP + 8_000_000, sent


def test_declared_length_over_the_task_cap_is_refused_before_reading(
    serve: Callable[..., str],
) -> None:
    url = serve()
    s = _connect(url)
    t0 = time.monotonic()
    s.sendall(_upload_head("Content-Length: 40000000\r\n"))
    data, closed = _answer(s, 5)
    s.close()
    assert _status(data) == 413 and closed
    assert time.monotonic() - t0 < 2
    # The same size to a route without a task cap is within the service's 200 MB.
    s = _connect(url)
    s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 1500000\r\n\r\n")
    s.settimeout(1)
    with pytest.raises(TimeoutError):
        s.recv(100)  # still waiting for the body: no early refusal
    s.close()


def _trickle(s: socket.socket, data: bytes, pause: float) -> tuple[bytes, bool, float]:
    """Send `data` one byte every `pause` s until the server answers and closes; return the
    answer, whether the connection was closed, and the seconds it took."""
    t0 = time.monotonic()
    s.settimeout(pause)
    answer = b""
    try:
        for byte in data:
            s.sendall(bytes([byte]))
            try:
                got = s.recv(4096)
            except TimeoutError:
                continue
            answer += got
            if not got:
                return answer, True, time.monotonic() - t0
    except (BrokenPipeError, ConnectionResetError):
        return answer, True, time.monotonic() - t0
    more, closed = _answer(s, 3)
    return answer + more, closed, time.monotonic() - t0


def test_slow_headers_are_cut_off(serve: Callable[..., str]) -> None:
    url = serve(header_timeout_s=1.0)
    s = _connect(url)
    data, closed, elapsed = _trickle(
        s, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 99, 0.3
    )
    s.close()
    assert closed and _status(data) == 408, data
    assert elapsed < 3, elapsed


def test_a_slow_body_is_cut_off(serve: Callable[..., str]) -> None:
    url = serve(body_timeout_s=1.0, min_body_rate=1024)
    s = _connect(url)
    head = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n"
    s.sendall(head + b"Content-Type: application/json\r\n\r\n")
    data, closed, elapsed = _trickle(s, b" " * 100, 0.25)  # 4 bytes/s
    s.close()
    assert _status(data) == 408 and closed, data
    assert elapsed < 4, elapsed


def test_a_stalled_body_is_cut_off(serve: Callable[..., str]) -> None:
    url = serve(body_timeout_s=1.0)
    s = _connect(url)
    s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n{")
    t0 = time.monotonic()
    data, closed = _answer(s, 5)
    s.close()
    assert _status(data) == 408 and closed, data
    assert 0.9 < time.monotonic() - t0 < 3
