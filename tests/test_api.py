"""The service's health endpoints (the service itself grows in api/)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import grader
from api import create_app
from grader.sandbox import Sandbox


def test_healthz() -> None:
    client = TestClient(create_app())
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": grader.__version__}


@pytest.mark.docker
def test_readyz_with_engine_and_images(sandbox: Sandbox) -> None:
    r = TestClient(create_app()).get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["engine"] == "ok" and body["images"] == {"base": True, "cpu": True}
    assert body["ready"] is True
