"""Scale-out: the service publishes jobs to a REAL Redis, a REAL `assess worker` process
(Celery) grades them with the real Docker sandbox and writes the result once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.models import Grading
from api.services import Services
from grader.sandbox import Sandbox
from tests.api.conftest import PY_EXEC, RIGHT, WRONG, Service, add_user

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def broker(redis_url: str) -> str:
    # A database number of its own, so stale messages from other runs never reach us.
    return redis_url.rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"


@pytest.fixture
def worker(
    broker: str, database_url: str, tmp_path: Path, sandbox: Sandbox
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start() -> subprocess.Popen[bytes]:
        assess = Path(sys.executable).parent / "assess"
        cmd = [
            str(assess), "worker", "--broker", broker, "--queues", "cpu", "--concurrency", "1",
            "--data-dir", str(tmp_path / "data"), "--database-url", database_url,
            "--tasks", str(PY_EXEC),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _services(svc: Service) -> Services:
    s: Services = svc.client.app.state.services  # type: ignore[attr-defined]
    return s


def test_celery_worker_grades_through_redis(
    service_factory: Callable[..., Service],
    worker: Callable[[], subprocess.Popen[bytes]],
    broker: str,
) -> None:
    svc = service_factory(broker_url=broker, tasks=(PY_EXEC,))
    assert svc.anonymous().get("/readyz").json()["queue"] == "ok"
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    alice = svc.applicant(token)
    right = svc.upload(alice, RIGHT).json()["id"]
    wrong = svc.upload(alice, WRONG, name="w.zip").json()["id"]
    proc = worker()  # started after the jobs were queued: they wait in Redis
    assert svc.wait(alice, right, timeout=120)["status"] == "graded"
    assert svc.wait(alice, wrong, timeout=120)["status"] == "graded"
    listed = ops.get("/api/v1/submissions", params={"superseded": "include"}).json()["items"]
    scores = {s["id"]: s["score"] for s in listed}  # both uploads: the first is superseded
    assert scores[right] == 10 and scores[wrong] < 10
    report = ops.get(f"/api/v1/submissions/{right}/report").json()
    assert report["provenance"]["sandbox"] == "docker"

    # The same job delivered again (a redelivery after a lost ack): no second report.
    services = _services(svc)
    assert services.queue is not None
    from api.models import Job

    with services.sessions() as session:
        job_id = session.scalar(select(Job.id).where(Job.submission_id == right))
    assert job_id is not None
    services.queue.enqueue(job_id, "cpu")
    time.sleep(3)
    with services.sessions() as session:
        count = session.scalar(select(func.count(Grading.id)).where(Grading.submission_id == right))
    assert count == 1
    assert proc.poll() is None
