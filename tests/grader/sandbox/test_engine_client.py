"""The sandbox's engine client on the local socket skips requests' environment lookups."""

from __future__ import annotations

from typing import Any

import pytest
import requests.sessions
import requests.utils

from grader.pipeline import grade
from grader.report import Status
from grader.sandbox.base import Sandbox
from grader.sandbox.docker import DockerSandbox
from grader.task import load_task
from tests.conftest import FIXTURE_TASKS


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
    task = load_task(FIXTURE_TASKS / "py-exec")
    report = grade(task, task.solution, sandbox=sandbox)
    assert report.status == Status.graded and report.score == report.max_score
