"""`assess invite` and `assess user`: the operator's command line for the service."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.commands import app
from tests.api.conftest import PY_EXEC, Service, add_user, fake_grade, make_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    monkeypatch.setenv("ASSESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSESS_DATABASE_URL", database_url)
    monkeypatch.setenv("ASSESS_TASKS_DIRS", str(PY_EXEC))
    monkeypatch.setenv("ASSESS_SECRET_KEY", "k")
    return tmp_path


def test_invite_prints_links_that_work(env: Path, database_url: str) -> None:
    runner = CliRunner()
    csv = env / "people.csv"
    csv.write_text("email,name\nbob@example.org,Bob\n")
    r = runner.invoke(
        app,
        ["invite", "alice@example.org", "--cohort", "c1", "--task", "py-exec", "--csv", str(csv),
         "--base-url", "https://assess.example"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = [ln.split("\t") for ln in r.output.strip().splitlines()]
    assert [e for e, _ in lines] == ["alice@example.org", "bob@example.org"]
    assert all(link.startswith("https://assess.example/invite/") for _, link in lines)
    token = lines[0][1].rsplit("/", 1)[1]
    settings = make_settings(env, database_url, (PY_EXEC,), workers=0)
    with TestClient(create_app(settings, grade_fn=fake_grade)) as c:
        r2 = c.get("/api/v1/me/tasks", headers={"Authorization": f"Bearer {token}"})
        assert [t["id"] for t in r2.json()] == ["py-exec"]
    bad = runner.invoke(app, ["invite", "--cohort", "c1", "--task", "nope"])
    assert getattr(bad.exception, "code", None) == 2  # the CLI's one-line user error


def test_user_command_creates_a_login(
    env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSESS_PASSWORD", "a long enough password")
    r = CliRunner().invoke(app, ["user", "carol", "--role", "operator"])
    assert r.exit_code == 0, r.output
    settings = make_settings(env, database_url, (PY_EXEC,), workers=0)
    with TestClient(create_app(settings, grade_fn=fake_grade)) as c:
        me = c.post(
            "/api/v1/auth/login", json={"username": "carol", "password": "a long enough password"}
        )
        assert me.status_code == 200 and me.json()["kind"] == "operator"


def test_demo_seeds_every_task_and_grades_its_samples(
    service_factory: Callable[..., Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`assess serve --demo`: each task's solution/ and starter/ are submitted by two demo
    applicants and graded; the demo logins work; seeding twice adds nothing."""
    from api.cli import DEMO_OPERATOR, DEMO_REVIEWER, seed_demo

    monkeypatch.setenv("ASSESS_DEMO_PASSWORD", "demo-password")
    svc = service_factory()
    services = svc.client.app.state.services  # type: ignore[attr-defined]
    info = seed_demo(services)
    assert sorted(info.tasks) == ["py-exec", "py-rubric"]
    assert sorted((t, w) for t, w, _, new in info.submissions if new) == [
        ("py-exec", "solution"), ("py-exec", "starter"),
        ("py-rubric", "solution"), ("py-rubric", "starter"),
    ]  # fmt: skip
    reviewer = svc.login(DEMO_REVIEWER, "demo-password")
    svc.login(DEMO_OPERATOR, "demo-password-op")
    for task, which, sid, _ in info.submissions:
        deadline = time.monotonic() + 30
        while (body := reviewer.get(f"/api/v1/submissions/{sid}").json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, (task, which, body["status"])
            time.sleep(0.05)
        full = body["score"] == body["max_score"]
        assert body["status"] == "graded" and full == (which == "solution"), (task, which, body)
    again = seed_demo(services)
    assert not any(new for *_, new in again.submissions)


def test_demo_submits_the_kit_template_as_a_research_taste_starter(
    service_factory: Callable[..., Service],
) -> None:
    """A research-taste starter holds only materials; the demo submits it with the kit's
    unfilled answers template, which grades to 0, next to the reference at full marks."""
    from api.cli import seed_demo
    from grader.questions.grade import grade_answers
    from grader.report import Report
    from grader.task import Task
    from tests.conftest import REPO

    def host_grade(task: Task, submission: Path, artifacts: Path) -> Report:
        return grade_answers(task, submission, artifacts_dir=artifacts)

    svc = service_factory(grade_fn=host_grade, tasks=(REPO / "tasks" / "results-critique",))
    services = svc.client.app.state.services  # type: ignore[attr-defined]
    info = seed_demo(services)
    assert sorted(w for _, w, _, new in info.submissions if new) == ["solution", "starter"]
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    scores = {}
    for _, which, sid, _ in info.submissions:
        deadline = time.monotonic() + 30
        while (body := ops.get(f"/api/v1/submissions/{sid}").json())["status"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert body["status"] == "graded", body
        scores[which] = (body["score"], body["max_score"])
    assert scores["starter"][0] == 0
    assert scores["solution"][0] == scores["solution"][1]
