"""bench/load.py, small: concurrent applicants and reviewers against a real service
process; the script exits non-zero on any error, so this proves the load test works."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.liveservice import REPO
from grader.sandbox import Sandbox

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_load_script_small(sandbox: Sandbox) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "load.py"), "--applicants", "6",
         "--reviewers", "2", "--poll", "0.5", "--timeout", "120"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "errors: 0" in proc.stdout
    assert "submissions: {'graded': 6}" in proc.stdout
    assert "p95" in proc.stdout
