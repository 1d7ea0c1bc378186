"""SIGKILL the Celery worker process that is grading a job: late acks return the message,
another worker process takes the job over from the dead one and grades it once, and the
dead process's containers are removed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.liveservice import (
    PY_EXEC,
    Client,
    LiveService,
    assert_clean_ledger,
    ledger,
    people,
    sandbox_leftovers,
    settings_for,
)
from grader.sandbox import Sandbox
from tests.faults.conftest import SLOW, no_leftovers

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def workers(
    broker: str, tmp_path: Path, sandbox: Sandbox
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        cmd = [
            str(Path(sys.executable).parent / "assess"), "worker", "--broker", broker,
            "--queues", "cpu", "--concurrency", "1", "--data-dir", str(tmp_path / "data"),
            "--tasks", str(PY_EXEC),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "ASSESS_SECRET_KEY": "live-secret"}
        with (tmp_path / "workers.log").open("ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _worker_of(settings: object, sid: int, running_only: bool = True) -> str:
    from sqlalchemy import select

    from api.core.db import make_engine, session_factory
    from api.models import Job

    engine = make_engine(settings.db_url)  # type: ignore[attr-defined]
    try:
        with session_factory(engine)() as session:
            job = session.scalar(select(Job).where(Job.submission_id == sid))
            if job is None or (running_only and job.state != "running"):
                return ""
            return job.worker
    finally:
        engine.dispose()


def test_killed_celery_worker_job_is_finished_by_another(
    tmp_path: Path,
    broker: str,
    workers: Callable[[], subprocess.Popen[bytes]],
    live: Callable[..., LiveService],
) -> None:
    settings = settings_for(tmp_path / "data")
    tokens = people(settings, 1, ["py-exec"]).tokens
    svc = live(broker=broker).start()
    first, second = workers(), workers()
    alice = Client(svc.url, tokens[0])
    try:
        sid = alice.upload(SLOW).json()["id"]
        deadline = time.monotonic() + 60
        while not (holder := _worker_of(settings, sid)):
            assert time.monotonic() < deadline, "no worker took the job"
            time.sleep(0.1)
        time.sleep(2.0)  # inside the run phase (the submission sleeps 4 s)
        dead = int(holder.rsplit(":", 1)[1])
        os.kill(dead, signal.SIGKILL)  # the pool process that is grading
        assert sandbox_leftovers([dead]), "the kill should have left the run's containers"
        body = alice.wait(sid, timeout=120)
        assert body["status"] == "graded"
    finally:
        alice.close()
    svc.stop()
    book = ledger(settings)
    assert_clean_ledger(book, expected_subs=1)
    (_job, _sid, _state, attempts, _err) = book["jobs"][0]
    assert attempts == 2
    assert first.poll() is None and second.poll() is None  # the workers themselves live on
    finisher = int(_worker_of(settings, sid, running_only=False).rsplit(":", 1)[1])
    assert finisher != dead
    no_leftovers([dead, finisher])
