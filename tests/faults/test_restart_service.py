"""Stop the service (SIGTERM, as an operator's restart does) with one job running and
others queued, then start it again: every submission ends graded, once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.liveservice import Client, LiveService, assert_clean_ledger, ledger, people, settings_for
from grader.sandbox import Sandbox
from tests.faults.conftest import RIGHT, SLOW, no_leftovers

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_restart_with_jobs_queued_and_running(
    tmp_path: Path, sandbox: Sandbox, live: Callable[..., LiveService]
) -> None:
    settings = settings_for(tmp_path / "data")
    tokens = people(settings, 3, ["py-exec"]).tokens
    svc = live(workers=1).start()
    clients = [Client(svc.url, t) for t in tokens]
    try:
        ids = [clients[0].upload(SLOW).json()["id"]]
        ids += [c.upload(RIGHT).json()["id"] for c in clients[1:]]
        deadline = time.monotonic() + 30
        while clients[0].status(ids[0])["status"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.1)
        svc.stop()  # graceful: the running grading may finish; the queued ones wait
        book = ledger(settings)
        assert len(book["submissions"]) == 3
        assert sum(s == "queued" for s in book["submissions"].values()) >= 1

        svc.start()
        for c, sid in zip(clients, ids, strict=True):
            assert c.wait(sid, timeout=90)["status"] == "graded"
        svc.stop()
    finally:
        for c in clients:
            c.close()
    assert_clean_ledger(ledger(settings), expected_subs=3)
    no_leftovers(svc.pids)
