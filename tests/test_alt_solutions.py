"""Correct-but-different solutions keep full marks.

Each folder ``tests/alt_solutions/<task-id>/<case>/`` is a submission written from the
applicant's kit by a route other than the reference's (another algorithm, another library,
another layout of the code). Its ``expect.toml`` says in ``why`` what makes it different; the
file is excluded from the graded submission. These live under ``tests/`` so no kit or task
folder carries them. Together with each task's ``bad/`` cases they guard both directions: a
check tightened to catch plausible wrong work must not start failing valid work.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from grader.pipeline import grade
from grader.prepare import prepare
from grader.report import Status
from grader.sandbox import Sandbox
from grader.spec import EXPECT_FILE
from grader.task import load_task
from tests.conftest import REPO

ALT_ROOT = REPO / "tests" / "alt_solutions"
CASES = sorted(p for p in ALT_ROOT.glob("*/*") if p.is_dir())
IMPLEMENTATION = sorted(
    p.parent.name
    for p in (REPO / "tasks").glob("*/task.toml")
    if not p.parent.name.startswith("_")
    and tomllib.loads(p.read_text(encoding="utf-8")).get("kind") == "implementation"
)
MIN_PER_TASK = 2


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def test_every_implementation_task_has_alternatives() -> None:
    assert IMPLEMENTATION, "no implementation task found"
    counts = {t: sum(1 for c in CASES if c.parent.name == t) for t in IMPLEMENTATION}
    short = {t: n for t, n in counts.items() if n < MIN_PER_TASK}
    assert not short, f"fewer than {MIN_PER_TASK} alternative solutions: {short}"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_alternative_is_documented_and_names_a_task(case: Path) -> None:
    assert (REPO / "tasks" / case.parent.name / "task.toml").is_file(), case.parent.name
    about = tomllib.loads((case / EXPECT_FILE).read_text(encoding="utf-8"))
    assert len(str(about.get("why", "")).split()) >= 5, f"{case}: expect.toml needs a why"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_alternative_solution_gets_full_marks(case: Path, sandbox: Sandbox) -> None:
    task = load_task(REPO / "tasks" / case.parent.name)
    prepare(task, sandbox)
    report = grade(task, case, sandbox=sandbox, exclude=frozenset({EXPECT_FILE}))
    lost = [f"{c.id}: {c.score}/{c.max_score} {c.feedback}" for c in report.checks]
    assert report.status == Status.graded, report.explanation
    assert report.score is not None and report.score >= report.max_score - 1e-6, lost
