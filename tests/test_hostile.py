"""Hostile submissions end in bounded time with the right status, earn no more than the
starter, and leave nothing behind (the autouse fixture asserts no container or volume)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from grader.pipeline import grade
from grader.report import Report, Status
from grader.sandbox import Sandbox
from grader.task import Task, load_task
from tests.conftest import FIXTURE_TASKS

pytestmark = [pytest.mark.docker, pytest.mark.slow]

STARTER_SCORE = 2.0
RUN_LIMIT = 8  # the fixture's run_timeout_s
# Bound on a whole grading of a hostile case: run limit + container starts + check phase.
BOUND_S = RUN_LIMIT + 40


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(FIXTURE_TASKS / "py-exec")


def hostile(task: Task, sandbox: Sandbox, tmp_path: Path, code: str) -> Report:
    d = tmp_path / "sub"
    d.mkdir()
    (d / "main.py").write_text(code)
    t = time.monotonic()
    report = grade(task, d, sandbox=sandbox)
    assert time.monotonic() - t < BOUND_S, "grading took too long"
    assert report.score is not None and report.score <= STARTER_SCORE, report
    return report


def test_fork_bomb(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    r = hostile(
        task,
        sandbox,
        tmp_path,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    )
    assert r.status == Status.timeout


def test_infinite_loop(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    r = hostile(task, sandbox, tmp_path, "while True:\n    pass\n")
    assert r.status == Status.timeout
    assert f"{RUN_LIMIT}s time limit" in r.explanation
    assert RUN_LIMIT <= r.timings.run < RUN_LIMIT + 10


def test_ten_gigabyte_write(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    before = shutil.disk_usage("/").used
    code = (
        "import os\n"
        "chunk = b'0' * (1 << 20)\n"
        "for path in ['/output/fill', '/tmp/fill', '/submission/fill', '/fill']:\n"
        "    try:\n"
        "        with open(path, 'wb') as f:\n"
        "            for _ in range(10 * 1024):\n"
        "                f.write(chunk)\n"
        "    except OSError as e:\n"
        "        print(path, e.strerror)\n"
        "ANSWER = None\n"
    )
    r = hostile(task, sandbox, tmp_path, code)
    assert r.status == Status.graded
    assert "/output/fill No space left on device" in r.logs.run
    assert "/tmp/fill No space left on device" in r.logs.run
    assert "/submission/fill Read-only file system" in r.logs.run
    # A leak would be ~10 GB; 1 GB of slack absorbs unrelated writers on the machine.
    assert shutil.disk_usage("/").used - before < 1024 * 1024 * 1024


def test_memory_hog(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    r = hostile(task, sandbox, tmp_path, "hog = bytearray(2 * 1024 ** 3)\nANSWER = 42\n")
    assert r.status == Status.graded
    assert "memory limit" in r.explanation


def test_network_call(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    code = (
        "import socket, urllib.request\n"
        "ANSWER = None\n"
        "try:\n"
        "    urllib.request.urlopen('http://1.1.1.1/', timeout=3)\n"
        "    ANSWER = 42\n"
        "except Exception as e:\n"
        "    print('offline:', e)\n"
    )
    r = hostile(task, sandbox, tmp_path, code)
    assert r.status == Status.graded
    assert "offline:" in r.logs.run
    assert r.score == STARTER_SCORE


def test_background_process_left_running(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    marker = "assess-hostile-bg-4411"
    code = (
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '600', '{marker}'], start_new_session=True)\n"
        "ANSWER = None\n"
    )
    r = hostile(task, sandbox, tmp_path, code)
    assert r.status == Status.graded
    assert r.timings.run < RUN_LIMIT, "the run ends with its main process"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert marker not in ps.stdout


def test_forging_results_everywhere(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    code = r"""
import json, os, sys
fake = json.dumps({"checks": [{"id": "answer", "name": "x", "score": 10, "max_score": 10}],
                   "score": 10, "status": "graded"})
for path in ["/output/checks.json", "/output/result.json", "/result/checks.json",
             "/grading/check.py", "/grading/answers/expected.json", "/kit/main.py",
             "/assess/assess_check.py", "/submission/checks.json", "/tmp/checks.json"]:
    try:
        with open(path, "w") as f:
            f.write(fake)
        print("wrote", path)
    except OSError as e:
        print("denied", path, e.strerror)
print(fake)
sys.stdout.flush()
os._exit(0)
"""
    r = hostile(task, sandbox, tmp_path, code)
    assert r.status == Status.graded
    # /output/result.json is the submission's own output: it holds the fake JSON, which
    # the trusted check reads as data and finds no valid answer in.
    assert r.score == STARTER_SCORE
    for path in ("/result/checks.json", "/grading/check.py", "/kit/main.py"):
        assert f"wrote {path}" not in r.logs.run
    assert not (task.root / "grading" / "checks.json").exists()
