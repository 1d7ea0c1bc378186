"""`assess invite`, `assess user` and `assess outbox`: the operator's command line for the
service. Invitation links use the base URL the service really serves (recorded by `assess
serve` in its data dir), not a default port where nothing listens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.commands import app
from tests.api.conftest import PY_EXEC, Service, add_user, fake_grade, make_settings
from tests.api.live import free_port
from tests.api.test_notifications import Inbox, smtp_server  # noqa: F401 (a fixture)
from tests.conftest import REPO


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
    assert "links for https://assess.example (--base-url)" in r.stderr
    lines = [ln.split("\t") for ln in r.stdout.strip().splitlines()]
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


def _serve(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """`assess serve` on `port` in a subprocess, with the test's environment."""
    return subprocess.Popen(
        [sys.executable, "-c", "from api.commands import main; main()", "serve",
         "--port", str(port), "--workers", "0"],
        cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_invite_prints_links_for_the_port_the_service_serves(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported bug: links pointed at :8000 while the service ran elsewhere."""
    from http.cookiejar import CookieJar
    from urllib.error import URLError
    from urllib.request import HTTPCookieProcessor, build_opener, urlopen

    monkeypatch.delenv("ASSESS_BASE_URL", raising=False)
    port = free_port()
    log = (env / "serve.log").open("wb")
    proc = _serve(port, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (env / "serve.log").read_text()[-2000:]
            try:
                with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as health:
                    if health.status == 200:
                        break
            except (URLError, OSError):
                pass
            assert time.monotonic() < deadline, "assess serve did not start"
            time.sleep(0.2)
        served = env / "data" / "served.json"
        assert served.is_file()

        r = CliRunner().invoke(app, ["invite", "alice@example.org", "--cohort", "c1"])
        assert r.exit_code == 0, r.output
        [(_, link)] = [ln.split("\t") for ln in r.stdout.strip().splitlines()]
        assert link.startswith(f"http://127.0.0.1:{port}/invite/"), link
        assert f"links for http://127.0.0.1:{port} (recorded by assess serve in" in r.stderr
        # The link works: it signs the applicant in on the running service.
        with build_opener(HTTPCookieProcessor(CookieJar())).open(link, timeout=10) as opened:
            assert opened.status == 200 and "/portal" in opened.url
            assert "alice@example.org" in opened.read().decode()

        # ASSESS_BASE_URL (a public URL behind a proxy) wins, and the option over both.
        monkeypatch.setenv("ASSESS_BASE_URL", "https://apply.example/")
        r = CliRunner().invoke(app, ["invite", "bob@example.org", "--cohort", "c1"])
        assert r.stdout.split("\t")[1].startswith("https://apply.example/invite/")
        assert "links for https://apply.example (ASSESS_BASE_URL)" in r.stderr
        r = CliRunner().invoke(
            app, ["invite", "bob@example.org", "--cohort", "c1", "--base-url", "http://h:1"]
        )
        assert r.stdout.split("\t")[1].startswith("http://h:1/invite/")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_invite_says_when_it_falls_back_to_the_default(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import local_url, record_served, recorded_base_url
    from api.core.config import Settings

    monkeypatch.delenv("ASSESS_BASE_URL", raising=False)
    r = CliRunner().invoke(app, ["invite", "alice@example.org", "--cohort", "c1"])
    assert r.exit_code == 0, r.output
    assert r.stdout.split("\t")[1].startswith("http://127.0.0.1:8000/invite/")
    assert "(the default: no service recorded in this data dir)" in r.stderr

    assert local_url("0.0.0.0", 9000) == "http://127.0.0.1:9000"
    assert local_url("::1", 9000) == "http://[::1]:9000"
    data = env / "other"
    record_served(Settings(data_dir=data, base_url="http://10.0.0.5:8123/"), "0.0.0.0", 8123)
    assert recorded_base_url(data) == "http://10.0.0.5:8123"
    assert not list(data.glob(".served.*"))  # the temporary file was renamed, not left
    (data / "served.json").write_text("{not json")
    assert recorded_base_url(data) is None


def test_outbox_export_and_send(
    env: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: Inbox,  # noqa: F811
) -> None:
    from api.core.db import transaction
    from api.notifications import queue_message

    settings = make_settings(env, database_url, (PY_EXEC,), workers=0)
    with TestClient(create_app(settings, grade_fn=fake_grade)) as c:
        services = c.app.state.services  # type: ignore[attr-defined]
        with transaction(services.sessions) as db:
            queue_message(
                db, kind="results", to="alice@example.org", subject="-cmd|calc", body="Read."
            )
    runner = CliRunner()
    r = runner.invoke(app, ["outbox", "export", "--status", "queued"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("id,kind,status,to,subject")
    assert "alice@example.org,'-cmd|calc" in lines[1]
    out = env / "outbox.csv"
    assert runner.invoke(app, ["outbox", "export", "-o", str(out)]).exit_code == 0
    assert "alice@example.org" in out.read_text()
    bad = runner.invoke(app, ["outbox", "export", "--kind", "postcard"])
    assert bad.exit_code != 0 and "kind 'postcard' is not one of" in bad.output

    no = runner.invoke(app, ["outbox", "send"])
    assert no.exit_code != 0 and "SMTP is not configured" in no.output
    assert smtp_server.messages == []
    monkeypatch.setenv("ASSESS_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSESS_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("ASSESS_SMTP_STARTTLS", "false")
    r = runner.invoke(app, ["outbox", "send"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "0 reminder(s) queued; 1 sent, 0 to retry, 0 failed for good"
    assert [m["Subject"] for m in smtp_server.messages] == ["-cmd|calc"]
