"""Shared fixtures. Docker tests run against the real engine and the built images.

Without an engine they skip with the reason — except under CI (CI=true), where a skipped
integration suite would hide a broken setup, so they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.errors import SandboxError
from grader.sandbox import Sandbox

REPO = Path(__file__).resolve().parent.parent
FIXTURE_TASKS = Path(__file__).parent / "fixtures" / "tasks"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI requires the Docker integration tests to run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    """The real Docker sandbox, with the cpu image built (make images)."""
    from grader.images import image_ref
    from grader.sandbox import docker_sandbox

    try:
        sb = docker_sandbox()
    except SandboxError as e:
        _unavailable(str(e))
    try:
        sb.image_id(image_ref("cpu"))
    except SandboxError as e:
        _unavailable(str(e))
    return sb


@pytest.fixture(autouse=True)
def _no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every Docker test: no container or volume of ours may remain."""
    yield
    if request.node.get_closest_marker("docker") is None:
        return
    if "sandbox" not in request.fixturenames:
        return
    sb: Sandbox = request.getfixturevalue("sandbox")
    left = list(sb.leftovers())
    assert not left, f"left behind: {left}"
