"""A real service process for the fault tests and the benchmarks (loopback only).

``LiveService`` runs ``assess serve`` (uvicorn, the in-process queue or ``--broker``) as a
subprocess over its own data folder; ``people`` creates the accounts, a cohort and invited
applicants straight in the database (the same code the CLI uses); ``Client`` is a small
httpx wrapper that acts as an applicant or a reviewer. Nothing here reaches beyond
127.0.0.1.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

REPO = Path(__file__).resolve().parent.parent
PY_EXEC = REPO / "tests" / "fixtures" / "tasks" / "py-exec"
ASSESS = Path(sys.executable).parent / "assess"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def settings_for(
    data_dir: Path, database_url: str = "", tasks: tuple[Path, ...] = (PY_EXEC,)
) -> Any:
    from api.core.config import Settings

    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        tasks_dirs=tasks,
        secret_key="live-secret",
        workers=0,
    )


@dataclass
class People:
    tokens: list[str]
    reviewer: str = "rev"
    operator: str = "ops"


def people(settings: Any, applicants: int, tasks: list[str], cohort: str = "c1") -> People:
    """Migrate, load the tasks, and create an operator, a reviewer and invited applicants."""
    from argon2 import PasswordHasher

    from api import accounts
    from api.cli import prepared
    from api.core.db import transaction

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    services = prepared(settings)
    try:
        with transaction(services.sessions) as session:
            c = accounts.get_or_create_cohort(session, cohort, blind=True)
            accounts.set_tasks(session, c, tasks)
            accounts.create_user(session, "ops", PASSWORD, "operator", hasher=cheap)
            accounts.create_user(session, "rev", PASSWORD, "reviewer", hasher=cheap)
            tokens = [
                accounts.invite(session, c, f"a{i}@example.org", f"A{i}", 30).token
                for i in range(applicants)
            ]
    finally:
        services.engine.dispose()
    return People(tokens=tokens)


@dataclass
class LiveService:
    """``assess serve`` in a subprocess of its own session (so it can be killed whole)."""

    data_dir: Path
    tasks: tuple[Path, ...] = (PY_EXEC,)
    database_url: str = ""
    workers: int = 1
    broker: str = ""
    port: int = field(default_factory=free_port)
    log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)  # every process this object started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiveService:
        cmd = [
            str(ASSESS), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        for t in self.tasks:
            cmd += ["--tasks", str(t)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        if self.broker:
            cmd += ["--broker", self.broker]
        log = self.log or self.data_dir.parent / "service.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ASSESS_SECRET_KEY": "live-secret", "PYTHONWARNINGS": "ignore"}
        env.update(self.env)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.pids.append(self.proc.pid)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited {self.proc.returncode}; see {log}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"service did not answer within {timeout}s; see {log}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (as when the machine loses the process)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a graceful stop); SIGKILL if it does not end in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Client:
    """An applicant (bearer token) or a reviewer (session cookie + CSRF) on a live service."""

    def __init__(self, url: str, token: str = "", timeout: float = 60) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=timeout)

    @classmethod
    def reviewer(cls, url: str, username: str = "rev") -> Client:
        c = cls(url)
        r = c.http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        r.raise_for_status()
        c.http.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def upload(self, files: dict[str, str] | bytes, task: str = "py-exec") -> httpx.Response:
        data = files if isinstance(files, bytes) else zip_bytes(files)
        return self.http.post(
            f"/api/v1/me/tasks/{task}/submissions",
            files={"file": ("s.zip", data, "application/zip")},
        )

    def status(self, sub_id: int) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/me/submissions/{sub_id}")
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def wait(self, sub_id: int, timeout: float = 60, poll: float = 0.2) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                body = self.status(sub_id)
                if body["status"] not in ("queued", "running"):
                    return body
            except httpx.HTTPError:
                pass  # the service is restarting
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {sub_id} not finished within {timeout}s")
            time.sleep(poll)

    def close(self) -> None:
        self.http.close()


def sandbox_leftovers(pids: list[int]) -> list[str]:
    """Containers and volumes in the engine that gradings run by these processes made."""
    import docker

    from grader.sandbox.docker import OWNER_LABEL

    prefixes = tuple(f"assess@{os.uname().nodename}:{pid}:" for pid in pids)
    client = docker.from_env(timeout=30)
    try:
        flt = {"label": OWNER_LABEL}
        left = [
            f"container {c.name}"
            for c in client.containers.list(all=True, filters=flt)
            if c.labels.get(OWNER_LABEL, "").startswith(prefixes)
        ]
        left += [
            f"volume {v.name}"
            for v in client.volumes.list(filters=flt)
            if (v.attrs.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefixes)
        ]
        return left
    finally:
        client.close()


def ledger(settings: Any) -> dict[str, Any]:
    """What the database holds: submissions, their status, gradings per submission, jobs."""
    from sqlalchemy import func, select

    from api.core.db import make_engine, session_factory
    from api.models import Grading, Job, Submission

    engine = make_engine(settings.db_url)
    try:
        with session_factory(engine)() as session:
            subs = {s.id: s.status for s in session.scalars(select(Submission))}
            per_sub = dict(
                session.execute(
                    select(Grading.submission_id, func.count(Grading.id)).group_by(
                        Grading.submission_id
                    )
                ).all()
            )
            jobs = [
                (j.id, j.submission_id, j.state, j.attempts, j.error)
                for j in session.scalars(select(Job))
            ]
            pointers = {s.id: s.grading_id for s in session.scalars(select(Submission))}
    finally:
        engine.dispose()
    return {"submissions": subs, "gradings": per_sub, "jobs": jobs, "pointers": pointers}


def assert_clean_ledger(book: dict[str, Any], expected_subs: int) -> None:
    """No submission lost, each graded or an explicit error, at most one report each."""
    subs: dict[int, str] = book["submissions"]
    assert len(subs) == expected_subs, f"submissions: {subs}"
    for sid, status in subs.items():
        assert status in ("graded", "invalid", "timeout", "error"), f"#{sid} left {status}"
        assert book["gradings"].get(sid, 0) <= 1, f"#{sid} has {book['gradings'][sid]} reports"
        if status != "error":
            assert book["gradings"].get(sid) == 1 and book["pointers"][sid] is not None
    for job_id, sid, state, _attempts, error in book["jobs"]:
        assert state in ("done", "failed"), f"job {job_id} (#{sid}) left {state}"
        if state == "failed":
            assert error, f"job {job_id} failed without saying why"
