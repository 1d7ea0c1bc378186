"""Fixtures for the service: a database on each backend, the app, and people using it.

The ``service`` fixture runs every test that uses it twice: on SQLite and on PostgreSQL
(started by scripts/ensure-postgres.sh). Without PostgreSQL the PostgreSQL half skips with
the reason, except under CI=true, where it fails (as the Docker tests do).

Most API tests grade with :func:`fake_grade`: the grader's contract (a Report for a task
and a submission file) without Docker, so they run in a fraction of a second. Tests marked
``docker`` use the real grader.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.app import create_app
from api.core.config import Settings
from api.services import GradeFn
from grader.intake import intake
from grader.report import Check, Report, Status, TaskRef
from grader.spec import Visibility
from grader.task import Task
from tests.conftest import FIXTURE_TASKS, IN_CI, REPO

PY_EXEC = FIXTURE_TASKS / "py-exec"
# Test accounts: argon2id with tiny parameters (verification reads them from the hash).
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
RUBRIC_TOML = """
[[criteria]]
id = "clarity"
name = "Clarity of the write-up"
max_score = 10
[[criteria.levels]]
score = 0
descriptor = "Unclear."
[[criteria.levels]]
score = 10
descriptor = "Clear."

[[criteria]]
id = "judgement"
name = "Experimental judgement"
max_score = 10
[[criteria.levels]]
score = 0
descriptor = "None shown."
[[criteria.levels]]
score = 10
descriptor = "Sound."
"""


def unavailable(what: str, reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI requires {what}: {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


def run_script(name: str) -> str:
    """Run scripts/<name> and return the URL it prints on its last line."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / name)], capture_output=True, text=True, timeout=600
    )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["failed"])[-1])
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    try:
        return run_script("ensure-postgres.sh")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        unavailable("PostgreSQL", str(e))
        raise AssertionError("unreachable") from None


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        return run_script("ensure-redis.sh")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        unavailable("Redis", str(e))
        raise AssertionError("unreachable") from None


def _pg_database(server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"assess_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each backend: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'assess.db'}"
        return
    yield from _pg_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="session")
def rubric_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """py-exec with a rubric and a 50/50 automatic/manual split, as task "py-rubric"."""
    root = tmp_path_factory.mktemp("tasks") / "py-rubric"
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    toml = (root / "task.toml").read_text()
    toml = toml.replace('id = "py-exec"', 'id = "py-rubric"').replace(
        "[scoring]\nmax_score = 10", "[scoring]\nmax_score = 10\nautomatic_weight = 0.5"
    )
    assert "automatic_weight" in toml
    (root / "task.toml").write_text(toml)
    (root / "rubric.toml").write_text(RUBRIC_TOML)
    return root


def fake_grade(task: Task, submission: Path, artifacts: Path) -> Report:
    """The grader's contract without Docker: full marks iff main.py computes 6 * 7.

    One check is applicant-visible, one reviewer-only (with a feedback string that tests
    look for to prove applicants never see it).
    """
    with tempfile.TemporaryDirectory() as tmp:
        sub = intake(submission, task.spec.submission, Path(tmp) / "s")
        main = (sub.root / "main.py").read_text() if (sub.root / "main.py").exists() else ""
    right = "6 * 7" in main or "42" in main
    checks = [
        Check(id="ran", name="Wrote a result", score=2, max_score=2,
              visibility=Visibility.applicant, feedback="visible feedback"),
        Check(id="answer", name="Hidden answer", score=8 if right else 0, max_score=8,
              visibility=Visibility.reviewer, feedback="HIDDEN-CHECK-DETAIL"),
    ]  # fmt: skip
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "result.json").write_text('{"ok": true}')
    return Report(
        task=TaskRef(id=task.id, version=task.spec.version, digest=task.digest,
                     title=task.spec.title),
        submission=sub.ref,
        status=Status.graded,
        explanation="graded",
        score=sum(c.score for c in checks),
        max_score=task.spec.scoring.max_score,
        checks=checks,
        manual=task.rubric.pending() if task.rubric else [],
    )  # fmt: skip


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


RIGHT = {"main.py": "ANSWER = 6 * 7\n"}
WRONG = {"main.py": "ANSWER = 41\n"}


@dataclass
class Service:
    """A running app (lifespan entered) and helpers to act as its users."""

    settings: Settings
    client: TestClient
    make: Callable[..., TestClient]
    clients: list[TestClient] = field(default_factory=list)

    def anonymous(self) -> TestClient:
        c = TestClient(self.client.app)
        self.clients.append(c)
        return c

    def login(self, username: str, password: str = "correct horse battery") -> TestClient:
        c = self.anonymous()
        r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def applicant(self, token: str) -> TestClient:
        c = self.anonymous()
        c.headers["Authorization"] = f"Bearer {token}"
        return c

    def upload(
        self,
        who: TestClient,
        files: dict[str, str] | bytes,
        task: str = "py-exec",
        name: str = "s.zip",
    ) -> Any:
        data = files if isinstance(files, bytes) else zip_bytes(files)
        return who.post(
            f"/api/v1/me/tasks/{task}/submissions", files={"file": (name, data, "application/zip")}
        )

    def wait(self, who: TestClient, sub_id: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = who.get(f"/api/v1/me/submissions/{sub_id}").json()
            if body["status"] not in ("queued", "running"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {sub_id} still {body['status']}")
            time.sleep(0.05)


def make_settings(
    tmp_path: Path, database_url: str, tasks: tuple[Path, ...], **kw: Any
) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "tasks_dirs": tasks,
        "workers": 1,
        "secret_key": "test-secret",
    }
    values.update(kw)
    return Settings(**values)


@pytest.fixture
def service_factory(
    tmp_path: Path, database_url: str, rubric_task: Path
) -> Iterator[Callable[..., Service]]:
    """Start services (``factory(**settings)``); each is stopped at the end of the test."""
    stack: list[TestClient] = []

    def factory(
        grade_fn: GradeFn | None = fake_grade,
        tasks: tuple[Path, ...] = (PY_EXEC, rubric_task),
        **kw: Any,
    ) -> Service:
        settings = make_settings(tmp_path, database_url, tasks, **kw)
        client = TestClient(create_app(settings, grade_fn=grade_fn))
        client.__enter__()
        stack.append(client)
        return Service(settings=settings, client=client, make=lambda: TestClient(client.app))

    yield factory
    for client in reversed(stack):
        client.__exit__(None, None, None)


@dataclass
class World:
    """A service with an operator, two reviewers, a cohort with both tasks, two applicants."""

    svc: Service
    operator: TestClient
    reviewer: TestClient
    reviewer2: TestClient
    alice: TestClient
    bob: TestClient
    cohort_id: int
    tokens: dict[str, str]


def add_user(svc: Service, username: str, role: str) -> None:
    from api import accounts
    from api.core.db import transaction

    services = svc.client.app.state.services  # type: ignore[attr-defined]
    with transaction(services.sessions) as session:
        accounts.create_user(session, username, "correct horse battery", role, hasher=CHEAP)


@pytest.fixture
def world(service_factory: Callable[..., Service]) -> World:
    return make_world(service_factory())


def make_world(svc: Service) -> World:
    """The `world` fixture's people and cohort on a service started with other settings."""
    add_user(svc, "ops", "operator")
    add_user(svc, "rev", "reviewer")
    add_user(svc, "rev2", "reviewer")
    operator = svc.login("ops")
    r = operator.post(
        "/api/v1/cohorts", json={"name": "c1", "blind": True, "tasks": ["py-exec", "py-rubric"]}
    )
    assert r.status_code == 201, r.text
    cohort_id = r.json()["id"]
    tokens = {}
    for who in ("alice", "bob"):
        r = operator.post(
            "/api/v1/invitations",
            json={"cohort": "c1", "email": f"{who}@example.org", "name": who.title()},
        )
        assert r.status_code == 201, r.text
        tokens[who] = r.json()["token"]
    return World(
        svc=svc,
        operator=operator,
        reviewer=svc.login("rev"),
        reviewer2=svc.login("rev2"),
        alice=svc.applicant(tokens["alice"]),
        bob=svc.applicant(tokens["bob"]),
        cohort_id=cohort_id,
        tokens=tokens,
    )
