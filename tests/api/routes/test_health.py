"""Liveness and readiness (moved from tests/test_api.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import grader
from grader.sandbox import Sandbox
from tests.api.conftest import Service


def test_healthz(service_factory: Callable[..., Service]) -> None:
    r = service_factory().anonymous().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": grader.__version__}


def test_openapi_docs(service_factory: Callable[..., Service]) -> None:
    c = service_factory().anonymous()
    assert c.get("/docs").status_code == 200
    paths = c.get("/openapi.json").json()["paths"]
    assert "/api/v1/submissions" in paths and "/api/v1/me/tasks/{task_id}/submissions" in paths


@pytest.mark.docker
def test_readyz_with_engine_and_images(
    sandbox: Sandbox, service_factory: Callable[..., Service]
) -> None:
    r = service_factory().anonymous().get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["engine"] == "ok" and body["images"] == {"base": True, "cpu": True}
    assert body["db"] == "ok" and body["queue"] == "ok"
    assert body["ready"] is True
