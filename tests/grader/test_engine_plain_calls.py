"""The engine client's plain calls (grader.engine_client.PlainCalls), against a small HTTP
server on a unix socket that answers as the engine does: what the SDK gets back, how errors
and lost connections read, and which calls still take the SDK's own transport."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docker
import pytest
import requests

from grader.engine_client import PlainCalls, tuned


class _Engine(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, path: str) -> None:
        super().__init__(path, _Handler)
        self.seen: list[tuple[str, str, dict[str, list[str]], bytes]] = []
        self.headers: list[dict[str, str]] = []
        self.connections = 0
        self.close_after_answer = False
        self.slow_s = 0.0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) leaves a broken pipe: expected


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Engine

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, code: int, body: object = None) -> None:
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()
        if self.server.close_after_answer:  # as an engine restarting would
            self.close_connection = True

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, url.path, parse_qs(url.query), body))
        self.server.headers.append(dict(self.headers))
        if self.server.slow_s:
            time.sleep(self.server.slow_s)
        path = url.path.removeprefix("/v1.41")
        if path == "/containers/create":
            config = json.loads(body)
            if config["Image"] == "missing:latest":
                self._answer(404, {"message": "No such image: missing:latest"})
            else:
                self._answer(201, {"Id": "c1", "Warnings": []})
        elif path == "/containers/c1/json":
            self._answer(200, {"Id": "c1", "Image": "sha256:abc", "State": {"ExitCode": 0}})
        elif path == "/containers/gone/json":
            self._answer(404, {"message": "No such container: gone"})
        elif path == "/containers/c1/start":
            self._answer(204)
        elif path == "/containers/busy":
            self._answer(409, {"message": "removal of container busy is already in progress"})
        else:
            self._answer(200, {"path": path})

    do_GET = do_POST = do_DELETE = do_PUT = _handle


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[_Engine]:
    server = _Engine(str(tmp_path / "engine.sock"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(engine: _Engine) -> Iterator[docker.DockerClient]:
    c = tuned(docker.DockerClient(base_url=f"unix://{engine.server_address}", version="1.41"))
    yield c
    c.close()


def test_plain_calls_answer_as_through_the_sdk_and_share_one_connection(
    engine: _Engine, client: docker.DockerClient
) -> None:
    api = client.api
    created = api.create_container("img:1", ["python", "-c", "pass"], name="assess-run-x")
    assert created == {"Id": "c1", "Warnings": []}
    api.start("c1")
    assert api.inspect_container("c1")["Image"] == "sha256:abc"
    api.remove_container("c1", force=True, v=False)
    method, path, query, body = engine.seen[0]
    assert (method, path, query) == ("POST", "/v1.41/containers/create", {"name": ["assess-run-x"]})
    assert json.loads(body)["Cmd"] == ["python", "-c", "pass"]
    # Booleans are written as requests writes them; the engine reads "True"/"False".
    assert engine.seen[-1][:3] == (
        "DELETE",
        "/v1.41/containers/c1",
        {"v": ["False"], "link": ["False"], "force": ["True"]},
    )
    assert engine.connections == 1  # kept alive across the four calls


def test_plain_calls_send_the_sdks_headers_and_the_configured_ones(
    engine: _Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client's configuration file may name headers for every call (HttpHeaders).
    (tmp_path / "config.json").write_text(json.dumps({"HttpHeaders": {"X-Site": "lab-1"}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = tuned(docker.DockerClient(base_url=f"unix://{engine.server_address}", version="1.41"))
    try:
        client.api.inspect_container("c1")
    finally:
        client.close()
    sent = engine.headers[-1]
    assert sent["X-Site"] == "lab-1"
    assert sent["User-Agent"].startswith("docker-sdk-python/")


def test_engine_errors_read_as_the_sdks_errors(client: docker.DockerClient) -> None:
    api = client.api
    with pytest.raises(docker.errors.ImageNotFound, match="No such image"):
        api.create_container("missing:latest", ["true"])
    with pytest.raises(docker.errors.NotFound) as gone:
        api.inspect_container("gone")
    assert gone.value.explanation == "No such container: gone"
    assert gone.value.response is not None and gone.value.response.status_code == 404
    with pytest.raises(docker.errors.APIError) as busy:
        api._result(api._post(api._url("/containers/busy")), json=True)
    assert busy.value.status_code == 409 and "already in progress" in str(busy.value.explanation)


def test_a_connection_the_engine_closed_is_not_used_again(
    engine: _Engine, client: docker.DockerClient
) -> None:
    engine.close_after_answer = True
    for _ in range(3):
        assert client.api.inspect_container("c1")["Id"] == "c1"
    assert engine.connections == 3


def test_a_call_past_its_timeout_reads_as_a_read_timeout_and_its_connection_is_dropped(
    engine: _Engine, client: docker.DockerClient
) -> None:
    engine.slow_s = 0.5
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.api.wait("c1", timeout=0.1)
    engine.slow_s = 0.0
    assert client.api.inspect_container("c1")["Id"] == "c1"
    assert engine.connections == 2  # the timed-out one was not handed out again


def test_a_call_that_names_no_timeout_has_the_clients(engine: _Engine) -> None:
    # The SDK's calls name a timeout only where they need another (a wait); the rest have
    # the client's, never none.
    client = tuned(
        docker.DockerClient(base_url=f"unix://{engine.server_address}", version="1.41", timeout=1)
    )
    try:
        engine.slow_s = 1.5
        with pytest.raises(requests.exceptions.ReadTimeout):
            client.api.inspect_container("c1")
    finally:
        engine.slow_s = 0.0
        client.close()


def test_an_engine_gone_reads_as_a_connection_error(
    engine: _Engine, client: docker.DockerClient
) -> None:
    engine.close_after_answer = True  # its connections end with it
    client.api.inspect_container("c1")
    engine.shutdown()
    engine.server_close()
    Path(str(engine.server_address)).unlink()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.api.inspect_container("c1")


def test_streams_take_the_sdks_transport(
    engine: _Engine, client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain: list[str] = []
    real = PlainCalls.request

    def recording(self: PlainCalls, method: str, url: str, **kwargs: Any) -> Any:
        plain.append(url)
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(PlainCalls, "request", recording)
    client.api.inspect_container("c1")
    response = client.api._get(client.api._url("/containers/c1/stats"), stream=True)
    assert response.status_code == 200
    response.close()
    assert len(plain) == 1 and plain[0].endswith("/containers/c1/json")
    assert engine.seen[-1][1] == "/v1.41/containers/c1/stats"
