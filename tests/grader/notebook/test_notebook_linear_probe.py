"""tasks/linear-probe as a notebook: the reference notebook earns what the reference
probe.py earns, check by check; the notebook starter does not earn full marks."""

from __future__ import annotations

import pytest

import grader
from grader.report import Status
from grader.sandbox import Sandbox
from grader.task import Task, load_task
from tests.conftest import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(REPO / "tasks" / "linear-probe")


def test_notebook_and_folder_references_grade_identically(task: Task, sandbox: Sandbox) -> None:
    folder = grader.grade(task, task.solution, sandbox=sandbox)
    notebook = grader.grade(task, task.root / "solution-notebook" / "probe.ipynb", sandbox=sandbox)
    assert folder.status == notebook.status == Status.graded, notebook.explanation
    assert notebook.submission.kind == "notebook" and notebook.flags == []
    assert notebook.score == folder.score == task.spec.scoring.max_score
    assert [(c.id, c.score, c.feedback) for c in notebook.checks] == [
        (c.id, c.score, c.feedback) for c in folder.checks
    ]


def test_notebook_starter_earns_less_than_full_marks(task: Task, sandbox: Sandbox) -> None:
    report = grader.grade(task, task.starter / "probe.ipynb", sandbox=sandbox)
    assert report.status == Status.graded, report.explanation
    assert report.score is not None and report.score < task.spec.scoring.max_score
