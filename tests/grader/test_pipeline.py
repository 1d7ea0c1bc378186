"""End-to-end grading through both phases in real containers (fixture task py-exec)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from grader.pipeline import grade
from grader.render import render_html
from grader.report import SCHEMA, Report, Status
from grader.sandbox import RunRequest, RunResult, Sandbox, Scratch
from grader.task import Task, load_task
from tests.conftest import FIXTURE_TASKS

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(FIXTURE_TASKS / "py-exec")


def submit(tmp_path: Path, code: str) -> Path:
    d = tmp_path / "sub"
    d.mkdir()
    (d / "main.py").write_text(code)
    return d


def test_reference_earns_full_marks(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    report = grade(task, task.solution, sandbox=sandbox, artifacts_dir=tmp_path / "art")
    assert report.status == Status.graded, report.explanation
    assert report.score == report.max_score == 10
    assert {c.id: c.score for c in report.checks} == {"ran": 2, "answer": 8}
    assert report.provenance is not None and report.provenance.image_id.startswith("sha256:")
    assert report.task.digest == task.digest
    assert [a.path for a in report.artifacts] == ["result.json"]
    assert json.loads((tmp_path / "art" / "result.json").read_text()) == {"answer": 42}
    again = Report.model_validate_json(report.to_json())
    assert again == report
    assert json.loads(report.to_json())["schema"] == SCHEMA


def test_starter_earns_less(task: Task, sandbox: Sandbox) -> None:
    report = grade(task, task.starter, sandbox=sandbox)
    assert report.status == Status.graded
    assert report.score == 2


def test_crash_is_a_graded_outcome(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    report = grade(task, submit(tmp_path, "raise SystemExit(3)\n"), sandbox=sandbox)
    assert report.status == Status.graded
    assert report.score == 0
    assert "exited with code 3" in report.explanation


def test_outputs_with_unsafe_names_are_ignored_and_the_report_says_so(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    code = (
        "ANSWER = 42\n"
        "for name in ('a\\nb', 'esc\\x1b[2J', 'bidi\\u202eexe.txt'):\n"
        "    open('/output/' + name, 'w').write('x')\n"
    )
    report = grade(task, submit(tmp_path, code), sandbox=sandbox)
    assert report.status == Status.graded and report.score == 10, report.explanation
    assert [a.path for a in report.artifacts] == ["result.json"]
    (flag,) = [f for f in report.flags if f.kind == "outputs"]
    assert flag.detail.startswith("3 output files with unsafe names"), flag.detail
    page = render_html(report)
    assert "3 output files with unsafe names" in page
    assert "\x1b" not in page and "\u202e" not in page


def test_run_phase_sees_inputs_but_never_answers(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    code = (
        "import json, os\n"
        "print('inputs:', open('/grading/inputs/note.txt').read().strip())\n"
        "print('grading:', sorted(os.listdir('/grading')))\n"
        "ANSWER = None\n"
        "for p in ['/grading/answers/expected.json', '/grading/check.py']:\n"
        "    if os.path.exists(p):\n"
        "        ANSWER = 42\n"
    )
    report = grade(task, submit(tmp_path, code), sandbox=sandbox)
    assert "inputs: hidden input visible to the run phase" in report.logs.run
    # run.py, its helpers (assess_run.py) and inputs/: never answers/ or check.py
    assert "grading: ['assess_run.py', 'inputs', 'run.py']" in report.logs.run
    assert report.score == 2  # ran, but found no answer to copy


def test_invalid_submission_is_reported_not_raised(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    (d / "other.py").write_text("x = 1\n")
    report = grade(task, d, sandbox=sandbox)
    assert report.status == Status.invalid
    assert "missing required file(s): main.py" in report.explanation
    assert report.score == 0


def test_broken_check_is_a_task_error(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    broken = tmp_path / "py-exec"
    shutil.copytree(task.root, broken)
    (broken / "grading" / "check.py").write_text(
        "def check(ctx):\n    raise RuntimeError('bug in the task')\n"
    )
    report = grade(load_task(broken), task.solution, sandbox=sandbox)
    assert report.status == Status.error
    assert report.score is None
    assert "RuntimeError: bug in the task" in report.explanation
    assert "not the submission's fault" in report.explanation


def test_checks_must_add_up_to_declared_max(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    broken = tmp_path / "py-exec"
    shutil.copytree(task.root, broken)
    (broken / "grading" / "check.py").write_text(
        "from assess_check import Check\ndef check(ctx):\n    return [Check('a', 'A', 5, 5)]\n"
    )
    report = grade(load_task(broken), task.solution, sandbox=sandbox)
    assert report.status == Status.error
    assert "add up to 5 points" in report.explanation


def test_score_out_of_range_is_rejected(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    broken = tmp_path / "py-exec"
    shutil.copytree(task.root, broken)
    (broken / "grading" / "check.py").write_text(
        "from assess_check import Check\ndef check(ctx):\n    return [Check('a', 'A', 50, 10)]\n"
    )
    report = grade(load_task(broken), task.solution, sandbox=sandbox)
    assert report.status == Status.error
    assert "exceeds max" in report.explanation


class _Starving(Sandbox):
    """The real engine, except that the first `starve` run-phase results are judged starved
    (the overload judgement itself is tested against real contention in
    tests/grader/sandbox/test_conformance.py; this tests what the pipeline does with it)."""

    name = "docker"

    def __init__(self, inner: Sandbox, starve: int) -> None:
        self.inner, self.starve, self.run_phases = inner, starve, 0

    def run(self, request: RunRequest) -> RunResult:
        result = self.inner.run(request)
        if request.label != "run":
            return result
        self.run_phases += 1
        if self.run_phases <= self.starve:
            return dataclasses.replace(
                result, timed_out=True, exit_code=None, limit="wall", overloaded=True
            )
        return result

    def scratch(self, size_mb: int, *, image: str) -> AbstractContextManager[Scratch]:
        return self.inner.scratch(size_mb, image=image)

    def image_id(self, image: str) -> str:
        return self.inner.image_id(image)


def test_an_overloaded_run_is_retried_and_never_charged(
    task: Task, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grader.pipeline

    monkeypatch.setattr(grader.pipeline, "OVERLOAD_PAUSE_S", 0.0)
    once = _Starving(sandbox, starve=1)
    report = grade(task, task.solution, sandbox=once)
    assert once.run_phases == 2
    assert report.status == Status.graded and report.score == report.max_score

    always = _Starving(sandbox, starve=99)
    report = grade(task, task.solution, sandbox=always)
    assert always.run_phases == 1 + grader.pipeline.OVERLOAD_RETRIES
    assert report.status == Status.error and report.score is None
    assert "overloaded" in report.explanation and "not the submission's fault" in report.explanation


def test_a_spinner_is_stopped_by_its_cpu_budget(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    report = grade(task, submit(tmp_path, "while True:\n    pass\n"), sandbox=sandbox)
    if report.status == Status.error and os.getloadavg()[0] > 2 * (os.cpu_count() or 1):
        # On a machine this busy the spinner cannot use 8 CPU-seconds inside its 39 s
        # backstop; it was starved, and starving is never charged to the submission.
        assert "overloaded" in report.explanation, report.explanation
        return
    assert report.status == Status.timeout, report.explanation
    assert "CPU-seconds" in report.explanation and "used up its 8s time limit" in report.explanation
