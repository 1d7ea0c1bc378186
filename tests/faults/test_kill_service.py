"""SIGKILL the in-process service while a job runs: on restart the job is run again to one
report, the queued job behind it too, and the killed process's containers are removed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.liveservice import (
    Client,
    LiveService,
    assert_clean_ledger,
    ledger,
    people,
    sandbox_leftovers,
    settings_for,
)
from grader.sandbox import Sandbox
from tests.faults.conftest import RIGHT, SLOW, no_leftovers

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_killed_service_reruns_its_running_job(
    tmp_path: Path, sandbox: Sandbox, live: Callable[..., LiveService]
) -> None:
    settings = settings_for(tmp_path / "data")
    tokens = people(settings, 2, ["py-exec"]).tokens
    svc = live(workers=1).start()
    alice, bob = Client(svc.url, tokens[0]), Client(svc.url, tokens[1])
    slow = alice.upload(SLOW).json()["id"]
    queued = bob.upload(RIGHT).json()["id"]  # one worker: this one waits behind
    deadline = time.monotonic() + 30
    while alice.status(slow)["status"] != "running":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    time.sleep(2.0)  # inside the run phase (the submission sleeps 4 s)
    first = svc.pids[-1]
    svc.kill()
    assert sandbox_leftovers([first]), "the kill should have left the run's containers"
    assert ledger(settings)["submissions"][slow] == "running"  # as the dead process left it

    svc.start()  # same data folder and database
    assert alice.wait(slow, timeout=90)["status"] == "graded"
    assert bob.wait(queued, timeout=60)["status"] == "graded"
    svc.stop()
    alice.close()
    bob.close()

    book = ledger(settings)
    assert_clean_ledger(book, expected_subs=2)
    attempts = {sid: a for _j, sid, _s, a, _e in book["jobs"]}
    assert attempts[slow] == 2  # the killed attempt, then the one that finished
    no_leftovers(svc.pids)
