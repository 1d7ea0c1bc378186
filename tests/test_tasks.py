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
# their score range (validate enforces each task's own min_spread; none may set it lower).
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
    assert result.ok, (failed, [f.line() for f in result.lint], result.spread)
    assert result.spread_ok and not [f for f in result.lint if f.level == "error"]
    if not task_dir.name.startswith("_"):
        assert task.spec.scoring.min_spread >= MIN_SPREAD, task.spec.scoring.min_spread
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


RESEARCH_TASTE = [p for p in TASKS if (p / "questions.toml").is_file()]


@pytest.mark.parametrize("task_dir", RESEARCH_TASTE, ids=_ids(RESEARCH_TASTE))
def test_research_taste_kit_checks_answers(task_dir: Path, tmp_path: Path) -> None:
    """`assess check` in the unpacked kit: the template is well-formed but unanswered, the
    reference answers are complete, and an answer to an unknown item fails naming it."""
    from grader.kit import check_kit

    task = load_task(task_dir)
    assert task.questions is not None
    bundle(task, tmp_path / "kit.zip")
    with zipfile.ZipFile(tmp_path / "kit.zip") as zf:
        zf.extractall(tmp_path)
    kit = tmp_path / f"{task.id}-kit"
    answers = kit / task.questions.answers_file
    assert answers.is_file() and (kit / "instructions.md").is_file()
    assert list(kit.glob("materials/*.png")), "the kit carries the task's plots as PNG"

    template = check_kit(kit)
    assert template.tests_exit_code == 0, template.tests_output
    assert f"0 of {len(task.questions.items)} items answered" in template.tests_output

    for p in iter_files(task.solution):
        target = kit / p.relative_to(task.solution)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    done = check_kit(kit)
    n = len(task.questions.items)
    assert done.tests_exit_code == 0, done.tests_output
    assert f"{n} of {n} items answered" in done.tests_output

    answers.write_text(answers.read_text() + "\n[not_an_item]\nvalue = 1\n")
    broken = check_kit(kit)
    assert broken.tests_exit_code == 1
    assert "not_an_item" in broken.tests_output


LIBRARY = [p for p in TASKS if not p.name.startswith("_")]
# The streams' research areas the library must cover (`area` in task.toml).
AREAS = {
    "interpretability",
    "ai-control",
    "scalable-oversight",
    "evaluations",
    "red-teaming",
    "model-organisms",
    "steering-unlearning",
}


def test_library_covers_the_streams_areas_and_both_kinds() -> None:
    specs = [load_task(p).spec for p in LIBRARY]
    assert len(specs) >= 12, [s.id for s in specs]
    research = [s.id for s in specs if s.kind.value == "research-taste"]
    assert len(research) >= 4, research
    missing = AREAS - {s.area for s in specs}
    assert not missing, f"no library task covers {sorted(missing)}"
