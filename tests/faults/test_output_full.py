"""A run phase that fills its output volume: the service reports it honestly (status,
explanation, the run log's "No space left on device"), never a full score, and the
grading's containers and volume are gone afterwards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.liveservice import Client, LiveService, assert_clean_ledger, ledger, people, settings_for
from grader.sandbox import Sandbox
from tests.faults.conftest import no_leftovers

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FILL = (
    "ANSWER = 6 * 7\n"
    "with open('/output/fill.bin', 'wb') as f:\n"
    "    while True:\n"
    "        f.write(b'0' * 65536)\n"
)


def test_full_output_volume_is_reported_honestly(
    tmp_path: Path, sandbox: Sandbox, live: Callable[..., LiveService]
) -> None:
    settings = settings_for(tmp_path / "data")
    tokens = people(settings, 1, ["py-exec"]).tokens
    svc = live(workers=1).start()
    alice = Client(svc.url, tokens[0])
    reviewer = Client.reviewer(svc.url)
    try:
        sid = alice.upload({"main.py": FILL}).json()["id"]
        assert alice.wait(sid, timeout=90)["checks"] == []  # nothing before the release
        report = reviewer.http.get(f"/api/v1/submissions/{sid}/report").json()
        ops = Client.reviewer(svc.url, "ops")
        cohort = ops.http.get("/api/v1/cohorts").json()[0]["id"]
        ops.http.post(f"/api/v1/cohorts/{cohort}/release").raise_for_status()
        ops.http.close()
        mine = alice.status(sid)
    finally:
        alice.close()
        reviewer.close()
    svc.stop()
    # Measured: "graded", 0/10, "the run phase exited with code 1 (see the run log);
    # scored on what it had written", and the applicant's check says no result was written.
    assert mine["status"] == report["status"] == "graded"
    assert report["score"] == 0
    assert "exited with code" in report["explanation"]
    assert "No space left on device" in report["logs"]["run"]
    assert any("no result.json" in c["feedback"] for c in mine["checks"])
    assert_clean_ledger(ledger(settings), expected_subs=1)
    no_leftovers(svc.pids)
