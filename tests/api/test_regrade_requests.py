"""Regrade requests: once per task, with a reason, within `regrade_days` of release (day N
yes, N+1 no); operators accept or decline with a response; an accepted request re-runs the
grading where the task changed and shows the applicant-visible differences, or says truthfully
that running it again cannot change the result."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api import catalog
from api.core.db import transaction
from api.models import AuditEntry, Cohort, OutboxMessage, RegradeRequest, utcnow
from api.regrades import window_open
from grader.report import Check, Report
from grader.spec import Visibility
from grader.task import Task
from tests.api.conftest import PY_EXEC, RIGHT, Service, World, add_user, fake_grade
from tests.api.test_decisions import HOSTILE, ranked_world, services_of, submit


def _release(world: World, days_ago: float = 0) -> None:
    assert world.operator.post(f"/api/v1/cohorts/{world.cohort_id}/release").status_code == 200
    if days_ago:
        with transaction(services_of(world).sessions) as s:
            cohort = s.get(Cohort, world.cohort_id)
            assert cohort is not None and cohort.results_released_at is not None
            cohort.results_released_at -= timedelta(days=days_ago)


def _ask(world: World, reason: str = "check 'ran' is wrong", task: str = "py-exec") -> Any:
    return world.alice.post("/api/v1/me/regrade-requests", json={"task_id": task, "reason": reason})


def test_window_is_n_days_inclusive() -> None:
    released = utcnow()
    cohort = Cohort(name="w", regrade_days=14, results_released_at=released)
    assert window_open(cohort, released + timedelta(days=14))
    assert not window_open(cohort, released + timedelta(days=14, seconds=1))
    assert not window_open(Cohort(name="x", regrade_days=14), released)


def test_day_n_open_and_day_n_plus_one_closed(world: World) -> None:
    ranked_world(world)
    _release(world, days_ago=14 - 1 / 24)  # day 14, an hour before the window closes
    assert world.alice.get("/api/v1/me/results").json()["regrade_open"] is True
    r = _ask(world)
    assert r.status_code == 201, r.text
    with transaction(services_of(world).sessions) as s:
        cohort = s.get(Cohort, world.cohort_id)
        assert cohort is not None and cohort.results_released_at is not None
        cohort.results_released_at -= timedelta(days=1)  # now day 15
    r = world.bob.post("/api/v1/me/regrade-requests", json={"task_id": "py-exec", "reason": "x"})
    assert r.status_code == 409 and "closed on" in r.json()["detail"]
    page = world.bob.get("/portal/results").text
    assert "Regrade requests closed on" in page and "Request a regrade" not in page


def test_once_per_task_with_a_reason(world: World) -> None:
    ranked_world(world)
    _release(world)
    r = _ask(world, reason="   ")
    assert r.status_code == 422 and "Reason: required" in r.json()["detail"]
    r = _ask(world, reason="x" * 2001)
    assert r.status_code == 422
    r = _ask(world, task="nope")
    assert r.status_code == 404
    r = _ask(world, task="py-rubric")  # nothing submitted for it
    assert r.status_code == 409
    assert _ask(world).status_code == 201
    again = _ask(world, reason="another go")
    assert again.status_code == 409 and "already asked" in again.json()["detail"]
    mine = world.alice.get("/api/v1/me/regrade-requests").json()
    assert [(q["task_id"], q["status"]) for q in mine] == [("py-exec", "open")]
    assert world.bob.get("/api/v1/me/regrade-requests").json() == []
    # the page form: bad input shown in the page with the reason kept
    r = world.bob.post("/portal/results/regrade", data={"task_id": "py-exec", "reason": ""})
    assert r.status_code == 422 and "Reason: required" in r.text


def test_decline_needs_a_response_and_the_applicant_reads_it(world: World) -> None:
    ranked_world(world)
    _release(world)
    req = _ask(world, reason=HOSTILE).json()
    url = f"/api/v1/regrade-requests/{req['id']}"
    assert world.reviewer.get("/api/v1/regrade-requests").status_code == 403
    assert world.alice.patch(url, json={"action": "decline", "response": "x"}).status_code == 401
    r = world.operator.patch(url, json={"action": "decline", "response": " "})
    assert r.status_code == 422 and "Response: required" in r.json()["detail"]
    r = world.operator.patch(url, json={"action": "decline", "response": f"No: {HOSTILE}"})
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert world.operator.patch(url, json={"action": "accept", "response": "y"}).status_code == 409
    mine = world.alice.get("/api/v1/me/regrade-requests").json()[0]
    assert mine["status"] == "declined" and mine["response"] == f"No: {HOSTILE}"
    page = world.alice.get("/portal/results").text
    assert "Your request was declined." in page and "&lt;img src=x" in page
    assert "<img src=x" not in page
    admin = world.operator.get("/admin/regrade-requests").text
    assert "&lt;img src=x" in admin and "<img src=x" not in admin
    with services_of(world).sessions() as s:
        assert s.scalar(select(OutboxMessage).where(OutboxMessage.kind == "regrade")) is not None
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "regrade-resolve"))


def test_accept_at_the_same_task_version_says_the_result_stands(world: World) -> None:
    ranked_world(world)
    _release(world)
    req = _ask(world).json()
    r = world.operator.post(
        f"/admin/regrade-requests/{req['id']}",
        data={"action": "accept", "response": "Looked again."},
        follow_redirects=False,
    )
    assert r.status_code == 303
    q = world.operator.get("/api/v1/regrade-requests?status=accepted").json()[0]
    assert q["grading_after_id"] == q["grading_before_id"] is not None
    mine = world.alice.get("/api/v1/me/results").json()["tasks"]
    got = next(t for t in mine if t["task_id"] == "py-exec")["regrade"]
    assert got["status"] == "accepted" and "your result stands" in got["outcome"]
    assert got["differences"] == []
    # the page form for an unknown request: an error in the page
    r = world.operator.post("/admin/regrade-requests/999", data={"action": "accept"})
    assert r.status_code == 422 and "no such regrade request" in r.text


def _bonus_grade(task: Task, submission: Path, artifacts: Path) -> Report:
    """fake_grade, but the visible check scores 1 until the task folder gains a BONUS file."""
    report = fake_grade(task, submission, artifacts)
    ran = 2 if (task.root / "BONUS").exists() else 1
    checks = [
        Check(id="ran", name="Wrote a result", score=ran, max_score=2,
              visibility=Visibility.applicant, feedback="visible feedback"),
        *[c for c in report.checks if c.id != "ran"],
    ]  # fmt: skip
    return report.model_copy(update={"checks": checks, "score": sum(c.score for c in checks)})


def test_accept_after_the_task_changed_regrades_and_shows_the_difference(
    service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    root = tmp_path / "tasks" / "py-exec"
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    svc = service_factory(grade_fn=_bonus_grade, tasks=(root,))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    cohort = ops.post("/api/v1/cohorts", json={"name": "c1", "tasks": ["py-exec"]}).json()
    token = ops.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "alice@example.org", "name": "A"}
    ).json()["token"]
    services = svc.client.app.state.services  # type: ignore[attr-defined]
    submit(services, "alice@example.org", RIGHT)
    assert ops.post(f"/api/v1/cohorts/{cohort['id']}/release").status_code == 200
    alice = svc.applicant(token)
    req = alice.post(
        "/api/v1/me/regrade-requests", json={"task_id": "py-exec", "reason": "ran is 1 of 2?"}
    ).json()
    # The operator fixes the task and reloads it (without regrading everything).
    (root / "BONUS").write_text("fixed\n")
    with transaction(services.sessions) as s:
        catalog.upsert_task(s, catalog.load(str(root)))
    r = ops.patch(
        f"/api/v1/regrade-requests/{req['id']}", json={"action": "accept", "response": "Fixed."}
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while True:
        got = alice.get("/api/v1/me/regrade-requests").json()[0]
        if got["differences"] is not None:
            break
        assert "being graded again" in got["outcome"]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert got["differences"] == [
        {"check": "Wrote a result", "before": 1.0, "after": 2.0, "max_score": 2.0}
    ]
    assert "the changes are below" in got["outcome"]
    page = alice.get("/portal/results").text
    assert "Wrote a result" in page and "HIDDEN-CHECK-DETAIL" not in page
    with services.sessions() as s:
        stored = s.scalars(select(RegradeRequest)).one()
        assert stored.status == "accepted" and stored.grading_before_id is not None
