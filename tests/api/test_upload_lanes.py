"""Uploads are stored a few at a time (``Settings.upload_lanes``); one waiting for a lane
keeps the time it arrived, and the portal answers meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

import api.uploads
from api.models import Submission
from tests.api.conftest import Service, World, make_world, zip_bytes

URL = "/api/v1/me/tasks/py-exec/submissions"


def _post(svc: Service, token: str, text: str) -> Any:
    # The entered client: every request in the one event loop, as under the server.
    return svc.client.post(
        URL,
        files={"file": ("s.zip", zip_bytes({"main.py": text}), "application/zip")},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def one_lane(service_factory: Callable[..., Service]) -> World:
    return make_world(service_factory(upload_lanes=1))


def test_an_upload_waiting_for_a_lane_keeps_the_time_it_arrived(
    one_lane: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = one_lane
    inside, release = threading.Event(), threading.Event()
    real_intake = api.uploads.intake
    held: list[bool] = []

    def slow_intake(*args: Any, **kwargs: Any) -> Any:
        if not held:  # the first upload holds the only lane until the test releases it
            held.append(True)
            inside.set()
            assert release.wait(30)
        return real_intake(*args, **kwargs)

    monkeypatch.setattr(api.uploads, "intake", slow_intake)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_post, world.svc, world.tokens["alice"], "ANSWER = 6 * 7\n")
        assert inside.wait(30)
        sent = datetime.now(UTC)
        second = pool.submit(_post, world.svc, world.tokens["bob"], "ANSWER = 41\n")
        # Meanwhile the portal answers: the waiting upload holds no thread.
        assert world.alice.get("/api/v1/me/tasks").status_code == 200
        time.sleep(0.5)
        assert not second.done()  # it waits for the one lane
        released = datetime.now(UTC)
        release.set()
        r1, r2 = first.result(30), second.result(30)
    assert r1.status_code == 201, r1.text
    assert r2.status_code == 201, r2.text
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as db:
        at = db.scalar(select(Submission.received_at).where(Submission.id == r2.json()["id"]))
    assert at is not None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    # Received when its body arrived, not when the lane came free half a second later.
    assert sent <= at < released


def test_the_portal_form_upload_goes_through_the_lanes(one_lane: World) -> None:
    world = one_lane
    c = world.svc.anonymous()
    c.get(f"/invite/{world.tokens['alice']}")
    token = c.get("/portal").text.split('name="csrf_token" value="')[1].split('"')[0]
    page = c.post(
        "/portal/tasks/py-exec/submissions",
        files={"file": ("s.zip", zip_bytes({"main.py": "ANSWER = 6 * 7\n"}), "application/zip")},
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert page.status_code == 303 and page.headers["location"].startswith("/portal?received=")
    bad = c.post(
        "/portal/tasks/py-exec/submissions",
        files={"file": ("s.exe", b"MZ", "application/octet-stream")},
        data={"csrf_token": token},
    )
    assert bad.status_code == 422 and "upload a .zip archive" in bad.text
