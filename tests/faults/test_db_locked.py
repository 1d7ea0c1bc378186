"""SQLite locked/busy: another connection holds an exclusive write lock while a worker
writes a result. The write waits (busy timeout) or is retried; when the database keeps
refusing, the job is queued again and re-run; never a half-written result."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from api import grading
from api.app import create_app
from api.models import AuditEntry, Grading, Job, Submission
from api.services import Services
from grader.report import Report
from grader.task import Task
from tests.api.conftest import PY_EXEC, RIGHT, Service, add_user, fake_grade, make_settings

pytestmark = pytest.mark.slow


class Locker:
    """Takes SQLite's exclusive lock from its own connection when asked; lets go later."""

    def __init__(self, db: Path, hold_s: float) -> None:
        self.conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.hold_s = hold_s
        self.held_at: float | None = None

    def grab(self) -> None:
        if self.held_at is not None:  # once: a re-run writes freely
            return
        self.conn.execute("BEGIN EXCLUSIVE")
        self.held_at = time.monotonic()
        threading.Timer(self.hold_s, lambda: self.conn.execute("ROLLBACK")).start()


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def start(locker_hold_s: float, busy_timeout_ms: int | None = None) -> tuple[Service, Locker]:
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", (PY_EXEC,))
        locker = Locker(tmp_path / "db.sqlite", locker_hold_s)

        def grade_then_lock(task: Task, submission: Path, artifacts: Path) -> Report:
            report = fake_grade(task, submission, artifacts)
            locker.grab()  # the result is written while another connection holds the lock
            return report

        client = TestClient(create_app(settings, grade_fn=grade_then_lock))
        client.__enter__()
        clients.append(client)
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        if busy_timeout_ms is not None:  # a shorter wait than the default 30 s, to be quick

            @event.listens_for(services.engine, "connect")
            def _short(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")

            services.engine.dispose()
        svc = Service(settings=settings, client=client, make=lambda: TestClient(client.app))
        return svc, locker

    yield start
    for c in clients:
        c.__exit__(None, None, None)


def _submit(svc: Service) -> tuple[TestClient, int]:
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]})
    r = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"})
    alice = svc.applicant(r.json()["token"])
    return alice, svc.upload(alice, RIGHT).json()["id"]


def _one_clean_result(svc: Service, sid: int) -> Job:
    services: Services = svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as session:
        sub = session.get(Submission, sid)
        assert sub is not None and sub.status == "graded" and sub.grading_id is not None
        assert session.scalar(select(func.count(Grading.id))) == 1
        grades = session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "grade")
        )
        assert grades == 1
        job = session.scalar(select(Job))
        assert job is not None and job.state == "done"
        return job


def test_write_waits_for_a_short_lock(make: Any) -> None:
    svc, locker = make(locker_hold_s=3.0)  # within the default 30 s busy timeout
    alice, sid = _submit(svc)
    assert svc.wait(alice, sid, timeout=30)["status"] == "graded"
    assert locker.held_at is not None and time.monotonic() - locker.held_at >= 3.0
    assert _one_clean_result(svc, sid).attempts == 1


def test_write_is_retried_past_the_busy_timeout(make: Any) -> None:
    svc, _ = make(locker_hold_s=3.0, busy_timeout_ms=300)
    alice, sid = _submit(svc)
    assert svc.wait(alice, sid, timeout=40)["status"] == "graded"
    assert _one_clean_result(svc, sid).attempts == 1  # the write was retried, not the grading


def test_job_is_rerun_when_the_database_keeps_refusing(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(grading, "WRITE_PAUSES_S", (0.2,))  # give up on the write quickly
    svc, _ = make(locker_hold_s=2.5, busy_timeout_ms=200)
    alice, sid = _submit(svc)
    assert svc.wait(alice, sid, timeout=60)["status"] == "graded"
    assert _one_clean_result(svc, sid).attempts == 2  # queued again, graded on the re-run
