"""Redis goes away while an applicant submits, and comes back.

A Redis server of this test's own (same binary and settings as scripts/ensure-redis.sh,
another port) is shut down, so the shared test Redis that other runs use is never touched.
The upload made while it is down is stored and accepted (its job row is the job); the
service publishes it once Redis answers again, and a real Celery worker grades it once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from bench.liveservice import (
    PY_EXEC,
    Client,
    LiveService,
    assert_clean_ledger,
    free_port,
    ledger,
    people,
    settings_for,
)
from grader.sandbox import Sandbox
from tests.api.conftest import unavailable
from tests.faults.conftest import RIGHT, no_leftovers

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class Redis:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.dir = root / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() == "PONG"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir",
             str(self.dir), "--appendonly", "yes", "--save", "", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.ping():
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)

    def shutdown(self) -> None:
        """As an operator's `redis-cli shutdown`: the append-only file is synced first."""
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown"], timeout=10, check=False)
        assert self.proc is not None
        self.proc.wait(10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        unavailable("Redis", "redis-server is not installed (scripts/ensure-redis.sh)")
    r = Redis(tmp_path)
    r.start()
    yield r
    r.kill()


def test_upload_while_redis_is_down_is_graded_when_it_is_back(
    tmp_path: Path, sandbox: Sandbox, redis: Redis, live: object
) -> None:
    settings = settings_for(tmp_path / "data")
    tokens = people(settings, 2, ["py-exec"]).tokens
    svc: LiveService = live(broker=redis.url).start()  # type: ignore[operator]
    with (tmp_path / "worker.log").open("ab") as out:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "assess"), "worker", "--broker", redis.url,
             "--queues", "cpu", "--data-dir", str(tmp_path / "data"), "--tasks", str(PY_EXEC)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "ASSESS_SECRET_KEY": "live-secret"},
        )  # fmt: skip
    alice, bob = Client(svc.url, tokens[0]), Client(svc.url, tokens[1])
    try:
        before = alice.upload(RIGHT).json()["id"]
        assert alice.wait(before, timeout=90)["status"] == "graded"

        redis.shutdown()
        assert "broker unreachable" in httpx.get(svc.url + "/readyz", timeout=30).json()["queue"]
        t = time.monotonic()
        r = bob.upload({"main.py": "ANSWER = 42\n"})
        took = time.monotonic() - t
        # Either answer is honest: stored and accepted, or refused whole with a clear 503.
        assert r.status_code in (201, 503), r.text
        if r.status_code == 503:
            assert ledger(settings)["submissions"] == {before: "graded"}  # nothing half-stored
            pytest.fail("the service refuses uploads while Redis is down (503)")
        during = r.json()["id"]
        assert bob.status(during)["status"] == "queued"
        assert took < 30, f"the upload waited {took:.1f}s for the broker"
        time.sleep(2)

        redis.start()  # same port and append-only file
        assert bob.wait(during, timeout=120)["status"] == "graded"
        assert httpx.get(svc.url + "/readyz", timeout=30).json()["queue"] == "ok"
    finally:
        alice.close()
        bob.close()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        svc.stop()
    assert_clean_ledger(ledger(settings), expected_subs=2)
    no_leftovers([worker.pid, *svc.pids])
