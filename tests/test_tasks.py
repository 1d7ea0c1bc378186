"""The task library: every task validates, separates strong from weak work, and bundles
a kit with nothing hidden in it.

`assess task validate` grades each task's solution/, starter/ and bad/ cases in real
containers; this is the slowest part of the suite (the never-terminating cases each cost
their task's run_timeout_s).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.bundle import bundle
from grader.sandbox import Sandbox
from grader.task import iter_files, load_task
from grader.validate import validate
from tests.conftest import REPO

TASKS = sorted(p.parent for p in (REPO / "tasks").glob("*/task.toml"))
# Library tasks must separate the reference from the best known-bad case by this much of
# their score range; the template is a teaching toy and is exempt.
MIN_SPREAD = 0.30


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_library_is_not_empty() -> None:
    assert len(TASKS) >= 2, TASKS


@pytest.mark.parametrize("task_dir", TASKS, ids=_ids(TASKS))
def test_task_loads(task_dir: Path) -> None:
    task = load_task(task_dir)
    assert (task_dir / "instructions.md").read_text().strip()
    assert task.bad_cases(), "every task ships known-bad cases"


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("task_dir", TASKS, ids=_ids(TASKS))
def test_task_validates(task_dir: Path, sandbox: Sandbox) -> None:
    task = load_task(task_dir)
    result = validate(task, sandbox, jobs=2)
    failed = [f"{c.case}: {c.status} {c.score} ({c.note})" for c in result.cases if not c.ok]
    assert result.ok, failed
    if not task_dir.name.startswith("_"):
        assert result.spread is not None and result.spread >= MIN_SPREAD, result.spread


@pytest.mark.docker
@pytest.mark.parametrize("task_dir", TASKS, ids=_ids(TASKS))
def test_kit_has_nothing_hidden(task_dir: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    from grader.prepare import prepare

    task = load_task(task_dir)
    prepare(task, sandbox)
    kit = tmp_path / "kit.zip"
    names = bundle(task, kit)
    assert f"{task.id}-kit/instructions.md" in names
    hidden = {
        p.read_bytes()
        for folder in (task.grading / "answers", task.solution)
        if folder.is_dir()
        for p in iter_files(folder)
        if p.stat().st_size > 64  # tiny files (e.g. "{}") may coincide with public ones
    }
    with zipfile.ZipFile(kit) as zf:
        for name in zf.namelist():
            assert "/grading/" not in name and "/solution/" not in name and "/bad/" not in name
            assert zf.read(name) not in hidden, f"{name} is a copy of a hidden file"
