"""The adversarial suite: every case in cases/ graded against the fixture task py-exec.

For each case: the declared status, a score no higher than the starter's (or the case's
own lower ceiling), a bounded grading time, nothing of ours left in the engine (autouse
fixture in tests/conftest.py), no marker process on the host, the task folder unchanged,
the host's disk use not grown, and a reviewer page that carries none of the payloads.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from grader.pipeline import grade
from grader.render import render_html
from grader.sandbox import Sandbox
from grader.task import load_task
from tests.adversarial import cases
from tests.adversarial.case import STARTER_SCORE, Case
from tests.conftest import FIXTURE_TASKS

pytestmark = [pytest.mark.docker, pytest.mark.slow]

NAMES = sorted(m.name for m in pkgutil.iter_modules(cases.__path__))
# A leak would be gigabytes (cases try to write 10 GB); the slack absorbs unrelated writers.
DISK_SLACK = 1024 * 1024 * 1024


def load_case(name: str) -> Case:
    case = importlib.import_module(f"tests.adversarial.cases.{name}").CASE
    assert isinstance(case, Case)
    return case


def test_suite_has_at_least_thirty_cases() -> None:
    assert len(NAMES) >= 30, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str, sandbox: Sandbox, tmp_path: Path) -> None:
    case = load_case(name)
    task = load_task(FIXTURE_TASKS / "py-exec")
    digest_before = task.digest
    disk_before = shutil.disk_usage("/").used
    submission = case.build(tmp_path)

    t = time.monotonic()
    report = grade(task, submission, sandbox=sandbox)
    elapsed = time.monotonic() - t

    assert report.status.value in case.status, (report.status, report.explanation)
    assert elapsed < case.max_seconds, f"took {elapsed:.1f}s"
    assert report.score is not None
    assert report.score <= min(case.max_score, STARTER_SCORE), report.checks
    for text in case.explanation_has:
        assert text in report.explanation, report.explanation
    for text in case.run_log_has:
        assert text in report.logs.run, report.logs.run[-1500:]
    for text in case.run_log_lacks:
        assert text not in report.logs.run, report.logs.run[-1500:]
    page = render_html(report)
    for text in case.html_lacks:
        assert text not in page
    assert len(page) < 2_000_000, "the reviewer page must stay bounded"

    if case.marker:
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
        assert case.marker not in ps.stdout, "a process outlived its grading"
    assert load_task(task.root).digest == digest_before, "the task folder changed"
    assert shutil.disk_usage("/").used - disk_before < DISK_SLACK
    assert not Path("/tmp/assess-zip-slip-pwned").exists()
