"""The Docker engine client as the grader uses it: tuned for an engine on a local socket.

Both the sandbox and the image builder make their client with ``docker.from_env`` and pass
it through :func:`tuned`.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import docker
import requests
from docker.transport.unixconn import UnixHTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.util.wait import wait_for_read

# The Docker SDK's base URL for an engine it reaches without HTTP proxies (a unix socket, a
# named pipe, or SSH).
LOCAL_SOCKET_URL = "http+docker://"
# Connections kept open to the engine's socket. A grading holds up to six at once (two
# waits, two stats streams, its calls and a start made ahead), and the service grades
# several at a time; past this many, urllib3 closes the extra ones after use, with a warning.
POOL_SIZE = 64


class OneSocketPool(UnixHTTPAdapter):  # type: ignore[misc]
    """One connection pool for the engine's socket.

    The SDK's adapter keys its pools by the request's whole URL, and most of a grading's URLs
    name a container: nearly every call (15 of a grading's 20) opened a new connection to the
    engine, and the old ones stayed open until 25 newer URLs pushed their pools out. Every
    URL here reaches the same socket, so one pool serves them all."""

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        return super().get_connection(self.socket_path, proxies)


def tuned(client: docker.DockerClient) -> docker.DockerClient:
    """`client`, set up for an engine on a local socket (unchanged for any other engine)."""
    api = client.api
    if not api.base_url.startswith(LOCAL_SOCKET_URL):
        return client
    # No proxy or .netrc applies to the engine's own socket, and requests would look for them
    # in the whole environment on every call: ~13% of a grading's CPU in this process.
    api.trust_env = False
    adapter = api.get_adapter(api.base_url)
    if type(adapter) is UnixHTTPAdapter:
        api.mount(
            LOCAL_SOCKET_URL,
            OneSocketPool(adapter.socket_path, adapter.timeout, max_pool_size=POOL_SIZE),
        )
        adapter.close()
        # The session's headers, and those of the client's configuration file that the
        # SDK adds to each call (``HttpHeaders``).
        headers = {**api.headers, **(api._general_configs.get("HttpHeaders") or {})}
        lean = PlainCalls(adapter.socket_path, api.base_url, headers, api.timeout)
        for verb in ("get", "post", "put", "delete"):
            name = f"_{verb}"
            setattr(api, name, lean.route(verb.upper(), getattr(api, name)))
        sdk_close = api.close

        def close() -> None:
            lean.close()
            sdk_close()

        api.close = close
    return client


class _SocketConnection(http.client.HTTPConnection):
    """HTTP/1.1 to the engine's unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class PlainCalls:
    """The engine's plain calls (no stream: a body or none, the whole answer read at once)
    over http.client, with a pool of kept-alive connections to its socket.

    A grading makes about a dozen of them (create, start, wait, inspect, remove, volumes),
    and through requests and urllib3 each cost ~0.45 ms of this process's CPU against
    ~0.13 ms here. The answer is a ``requests.Response``, so the SDK reads it and maps its
    errors (404 to NotFound or ImageNotFound, others to APIError) as before; a lost or timed-
    out connection raises requests' ConnectionError or ReadTimeout, as through requests.
    Streams (attach, logs, stats, archives, exec sockets) go through the SDK's transport."""

    def __init__(
        self,
        socket_path: str,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.base_url = base_url
        self.timeout = timeout  # the client's, for a call that names none (as the SDK's)
        self.headers = {"Host": "docker", **headers}
        self._idle: list[_SocketConnection] = []
        self._lock = threading.Lock()
        # A client nobody closed closes its idle connections when it is collected, as
        # urllib3's pools do (the list, not `self`: the finalizer must not keep it alive).
        weakref.finalize(self, _close_all, self._idle)

    def route(self, method: str, sdk_call: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's `_get`/`_post`/... for `method`: plain calls here, others to `sdk_call`."""

        def call(url: str, **kwargs: Any) -> Any:
            if kwargs.get("stream") or not set(kwargs) <= _PLAIN_ARGS:
                return sdk_call(url, **kwargs)
            if not url.startswith(self.base_url + "/"):
                return sdk_call(url, **kwargs)
            kwargs.setdefault("timeout", self.timeout)  # an explicit None waits unbounded
            return self.request(method, url, **kwargs)

        return call

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        path = url[len(self.base_url) :]
        query = _query(params)
        if query:
            path += ("&" if "?" in path else "?") + query
        sent = {**self.headers, **(headers or {})}
        body = data.encode() if isinstance(data, str) else data
        for fresh_only in (False, True):
            conn = self._take(fresh_only)
            reused = conn.sock is not None
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request(method, path, body=body, headers=sent)
                answer = conn.getresponse()
                content = answer.read()
                break
            except TimeoutError as e:
                conn.close()
                raise requests.exceptions.ReadTimeout(
                    f"the engine did not answer in {timeout}s: {e}"
                ) from None
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                # A kept-alive connection the engine closed just as it was taken (after the
                # check in `_take`): a call that may be repeated is sent once more, on a new
                # connection. Any other (a POST: create, start, kill) fails as it did.
                if reused and not fresh_only and method in _REPEATABLE and _closed_idle(e):
                    continue
                raise requests.exceptions.ConnectionError(f"the engine's socket: {e!r}") from None
        if answer.will_close:
            conn.close()
        else:
            self._give(conn)
        response = requests.Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = CaseInsensitiveDict(answer.getheaders())
        response._content = content
        response.url = url
        response.encoding = "utf-8"
        return response

    def _take(self, fresh: bool = False) -> _SocketConnection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle and not fresh else None
            if conn is None:
                return _SocketConnection(self.socket_path)
            if not _dropped(conn):
                return conn
            conn.close()

    def close(self) -> None:
        """Close the idle connections (those in use close when their call ends)."""
        with self._lock:
            _close_all(self._idle)

    def _give(self, conn: _SocketConnection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()


def _close_all(conns: list[_SocketConnection]) -> None:
    while conns:
        conns.pop().close()


# Methods that HTTP says may be sent again with the same effect.
_REPEATABLE = frozenset({"GET", "HEAD", "PUT", "DELETE"})


def _closed_idle(e: BaseException) -> bool:
    """Whether `e` is what a call on a connection its peer had closed gets."""
    return isinstance(e, http.client.RemoteDisconnected | BrokenPipeError | ConnectionResetError)


_PLAIN_ARGS = frozenset({"params", "data", "headers", "timeout", "stream"})


def _query(params: Mapping[str, Any] | None) -> str:
    """Query parameters as requests writes them: None left out, a list repeated, any other
    value as its str() (the engine reads "True" and "False" as booleans)."""
    if not params:
        return ""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(item)))
    return urllib.parse.urlencode(pairs)


def _dropped(conn: _SocketConnection) -> bool:
    """Whether an idle connection was closed by the engine (or has unread bytes): readable
    while idle means either, and neither can carry the next call (urllib3's own test)."""
    return conn.sock is None or wait_for_read(conn.sock, timeout=0.0)
