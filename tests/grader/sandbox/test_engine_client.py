"""The sandbox's engine client: on the local socket, no environment lookups and one pool of
connections; no network setup for its containers."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import pytest
import requests.sessions
import requests.utils

from grader.engine_client import OneSocketPool, PlainCalls, tuned
from grader.images import image_ref
from grader.pipeline import grade
from grader.report import Report, Status
from grader.sandbox.base import Limits, RunRequest, Sandbox
from grader.sandbox.docker import DockerSandbox
from grader.task import load_task
from tests.conftest import FIXTURE_TASKS


def grade_solution(sandbox: Sandbox) -> Report:
    """Grade py-exec's solution: full marks."""
    task = load_task(FIXTURE_TASKS / "py-exec")
    report = grade(task, task.solution, sandbox=sandbox)
    assert report.status == Status.graded and report.score == report.max_score
    return report


@pytest.mark.docker
def test_a_grading_on_the_local_socket_reads_no_proxy_or_netrc_settings(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would scan the whole environment (and look for ~/.netrc) on each of a
    # grading's ~20 calls; none of it applies to the engine's own socket.
    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("the engine client consulted the environment")

    assert isinstance(sandbox, DockerSandbox)
    assert sandbox.client.api.base_url.startswith("http+docker://")
    monkeypatch.setattr(requests.utils, "get_environ_proxies", forbidden)
    monkeypatch.setattr(requests.utils, "should_bypass_proxies", forbidden)
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", forbidden)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    grade_solution(sandbox)


@pytest.mark.docker
def test_every_container_of_a_grading_has_networking_disabled(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Mode "none" alone still runs the engine's network hook at each start (~160 ms of CPU);
    # networking disabled leaves the container an empty namespace of its own without it.
    assert isinstance(sandbox, DockerSandbox)
    api = sandbox.client.api
    create, seen = api.create_container, []

    def recording(*args: Any, **kwargs: Any) -> Any:
        created = create(*args, **kwargs)
        seen.append(api.inspect_container(created["Id"]))
        return created

    monkeypatch.setattr(api, "create_container", recording)
    grade_solution(sandbox)
    assert len(seen) == 2  # the run and the check
    for attrs in seen:
        assert attrs["Config"]["NetworkDisabled"] is True
        assert attrs["HostConfig"]["NetworkMode"] == "none"


@pytest.mark.docker
def test_a_grading_reuses_its_connections_to_the_engine(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK pools connections per URL, and a grading's URLs name its containers: without
    # one pool for the socket, 15 of its ~20 calls each opened a connection.
    assert isinstance(sandbox, DockerSandbox)
    grade_solution(sandbox)  # the pool holds what a grading needs
    connect, opened = socket.socket.connect, []

    def counting(self: socket.socket, address: Any) -> Any:
        if self.family == socket.AF_UNIX:
            opened.append(address)
        return connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    for _ in range(3):
        grade_solution(sandbox)
    # Each phase's attach takes its connection over for the output stream.
    assert len(opened) <= 3 * 2, opened


def test_an_engine_elsewhere_keeps_the_sdk_defaults() -> None:
    # Proxies may apply to a TCP engine, and its pools are the SDK's own.
    client = docker.DockerClient(base_url="tcp://127.0.0.1:9", version="1.41")
    try:
        assert tuned(client) is client
        assert client.api.trust_env is True
        assert not isinstance(client.api.get_adapter("http://127.0.0.1:9"), OneSocketPool)
    finally:
        client.close()


@pytest.mark.docker
def test_a_quick_grading_asks_the_engine_for_no_stats_and_no_image(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine samples a container about once a second: a stats stream for a command that
    # ends sooner costs a request, a thread and the engine's collector, and rarely gets data.
    assert isinstance(sandbox, DockerSandbox)
    paths = record_calls(sandbox, monkeypatch)
    report = grade_solution(sandbox)
    assert any("/wait" in p for p in paths)  # the recording sees the grading's calls
    assert any("/attach" in p for p in paths)  # streams as well as plain calls
    assert not [p for p in paths if "/stats" in p], paths
    # Nor for the image by its name (a call less): the report names the image
    # the containers ran in, read from the container the grading inspects anyway.
    assert not [p for p in paths if "/images/" in p], paths
    assert report.provenance is not None
    assert report.provenance.image_id == sandbox.image_id(image_ref("cpu"))


def record_calls(sandbox: DockerSandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of every call the sandbox makes to the engine from now on: the plain ones
    (:class:`PlainCalls`) and the streams (the SDK's transport)."""
    api = sandbox.client.api
    send, plain, paths = api.send, PlainCalls.request, []

    def sent(request: Any, **kwargs: Any) -> Any:
        paths.append(request.path_url)
        return send(request, **kwargs)

    def called(self: PlainCalls, method: str, url: str, **kwargs: Any) -> Any:
        paths.append(url[len(self.base_url) :])
        return plain(self, method, url, **kwargs)

    monkeypatch.setattr(api, "send", sent)
    monkeypatch.setattr(PlainCalls, "request", called)
    return paths


class _CountingSlots:
    """A semaphore that records how many holders it had at most, and how often it was taken."""

    def __init__(self, n: int) -> None:
        self._inner = threading.BoundedSemaphore(n)
        self._lock = threading.Lock()
        self.held = self.most = self.taken = 0

    def acquire(self) -> bool:
        self._inner.acquire()
        with self._lock:
            self.held += 1
            self.taken += 1
            self.most = max(self.most, self.held)
        return True

    def release(self) -> None:
        with self._lock:
            self.held -= 1
        self._inner.release()


@pytest.mark.docker
def test_gradings_at_once_share_the_command_slots(sandbox: Sandbox) -> None:
    # More gradings than slots: each command (run, then check) waits for one of the slots,
    # so no more commands than slots ever run at once, and every grading still scores.
    assert isinstance(sandbox, DockerSandbox)
    slots = _CountingSlots(1)
    task = load_task(FIXTURE_TASKS / "py-exec")

    def one(_: int) -> float:
        own = DockerSandbox(sandbox.client, slots=slots)  # type: ignore[arg-type]
        report = grade(task, task.solution, sandbox=own)
        assert report.status == Status.graded, report.error
        return report.score

    with ThreadPoolExecutor(3) as pool:
        scores = list(pool.map(one, range(6)))
    assert scores == [10.0] * 6
    assert slots.most == 1 and slots.held == 0
    assert slots.taken == 6 * 2  # the run's command and the check's, of each grading


@pytest.mark.docker
def test_a_command_waiting_for_a_slot_is_not_charged_for_the_wait(sandbox: Sandbox) -> None:
    # The limits count from the command's first instruction: a wait for a slot (all taken by
    # other gradings' commands) is not run time.
    assert isinstance(sandbox, DockerSandbox)
    slots = threading.BoundedSemaphore(1)
    own = DockerSandbox(sandbox.client, slots=slots)
    request = RunRequest(
        image=image_ref("cpu"), command=["python", "-c", "pass"], limits=Limits(wall_s=1)
    )
    slots.acquire()
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(own.run, request)
        time.sleep(1.5)
        assert not pending.done()  # it waits for the slot
        slots.release()
        result = pending.result(timeout=60)
    assert result.exit_code == 0 and not result.timed_out and result.wall_s < 1, result
