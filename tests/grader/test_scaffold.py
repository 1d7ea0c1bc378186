"""`assess task new`: a copy of the template task that loads, with its own id and title.

Also runs the scaffolded task's two phases on the host (no Docker, nothing isolated) to show
the template is a working task: its solution earns full marks, its starter does not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cases import case_folder
from grader.errors import TaskSpecError
from grader.scaffold import TEMPLATE_DIR, default_title, new_task
from grader.spec import load_spec
from grader.task import load_task
from grader.task_lint import lint
from tests.conftest import REPO

HARNESS = REPO / "grader" / "harness" / "assess_check.py"


def test_template_is_found_in_the_checkout() -> None:
    assert TEMPLATE_DIR == REPO / "tasks" / "_template"
    assert (TEMPLATE_DIR / "task.toml").is_file()


def test_new_task_is_a_valid_task_with_the_new_id(tmp_path: Path) -> None:
    path = new_task("sae-features", tmp_path)
    assert path == tmp_path / "sae-features"
    task = load_task(path)
    assert task.id == "sae-features"
    assert task.spec.title == "Sae features (TODO: title)"
    template = load_spec(TEMPLATE_DIR / "task.toml")
    # Only id, title and the toy's looser spread rule change (a new task gets the library's
    # default); everything else is the template's, comments included.
    mine = task.spec.model_dump(exclude={"id", "title"})
    theirs = template.model_dump(exclude={"id", "title"})
    assert mine["scoring"].pop("min_spread") == 0.30 > theirs["scoring"].pop("min_spread")
    assert mine == theirs
    text = (path / "task.toml").read_text(encoding="utf-8")
    assert "\n# min_spread = 0.30\n" in text
    assert text.count("\n# ") == (TEMPLATE_DIR / "task.toml").read_text().count("\n# ") + 1
    assert set(task.bad_cases()) == set(load_task(TEMPLATE_DIR).bad_cases())


def test_new_task_copies_every_template_file(tmp_path: Path) -> None:
    path = new_task("copy-check", tmp_path)

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        }

    assert files(path) == files(TEMPLATE_DIR)
    assert (path / "grading" / "answers" / "expected.json").read_bytes() == (
        TEMPLATE_DIR / "grading" / "answers" / "expected.json"
    ).read_bytes()


def test_new_task_leaves_caches_and_stamps_behind(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template)
    (template / "grading" / "__pycache__").mkdir(exist_ok=True)
    (template / "grading" / "__pycache__" / "check.cpython-311.pyc").write_bytes(b"x")
    (template / ".assess-prepared.json").write_text("{}")
    path = new_task("no-caches", tmp_path / "tasks", template=template)
    assert not (path / "grading" / "__pycache__").exists()
    assert not (path / ".assess-prepared.json").exists()
    assert (path / ".gitignore").is_file()  # part of the template, unlike the caches


def test_new_task_creates_the_destination_root(tmp_path: Path) -> None:
    path = new_task("deep-task", tmp_path / "a" / "b")
    assert load_task(path).id == "deep-task"


@pytest.mark.parametrize("bad_id", ["Bad ID!", "a", "-x", "under_score", "../escape", ""])
def test_new_task_rejects_an_invalid_id(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(TaskSpecError) as info:
        new_task(bad_id, tmp_path)
    message = str(info.value)
    assert "invalid task id" in message and repr(bad_id) in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_new_task_refuses_an_existing_folder(tmp_path: Path) -> None:
    existing = tmp_path / "taken"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    with pytest.raises(TaskSpecError, match=r"taken: already exists"):
        new_task("taken", tmp_path)
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_new_task_refuses_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(TaskSpecError, match="already exists"):
        new_task("taken", tmp_path)


def test_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="template task not found"):
        new_task("some-task", tmp_path / "tasks", template=tmp_path / "nowhere")
    assert not (tmp_path / "tasks" / "some-task").exists()


def test_template_without_an_id_line_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template)
    spec = template / "task.toml"
    spec.write_text(spec.read_text().replace('id = "template-task"', 'id="template-task"'))
    with pytest.raises(TaskSpecError, match="exactly one 'id"):
        new_task("some-task", tmp_path / "tasks", template=template)
    assert not (tmp_path / "tasks" / "some-task").exists()


def test_default_title() -> None:
    assert default_title("linear-probe") == "Linear probe (TODO: title)"
    assert default_title("0day") == "0day (TODO: title)"


def test_cli_task_new(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "grader", "task", "new", "cli-task", "--dest", str(tmp_path)]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert load_task(tmp_path / "cli-task").id == "cli-task"
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr


# ----------------------------------------------------------------------------- host phases


def _grade_on_host(
    task: Path, submission: Path, work: Path
) -> tuple[float, list[dict[str, object]]]:
    """Run run.py then the check harness as plain processes; return (total, checks)."""
    out, result = work / "output", work / "result"
    out.mkdir(parents=True)
    result.mkdir()
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(work),
        "PYTHONDONTWRITEBYTECODE": "1",
        "ASSESS_GRADING": str(task / "grading"),
        "ASSESS_OUTPUT": str(out),
        "ASSESS_KIT": str(task / "starter"),
    }
    run = subprocess.run(
        [sys.executable, str(task / "grading" / "run.py")],
        cwd=submission,
        # The grader puts assess_run.py next to run.py; on the host, the harness folder.
        env={
            **base,
            "ASSESS_SUBMISSION": str(submission),
            "ASSESS_PHASE": "run",
            "PYTHONPATH": str(HARNESS.parent),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    check = subprocess.run(
        [sys.executable, str(HARNESS)],
        cwd=task / "grading",
        env={
            **base,
            "ASSESS_PHASE": "check",
            "ASSESS_RESULT": str(result),
            "ASSESS_RUN_EXIT_CODE": str(run.returncode),
            "ASSESS_RUN_TIMED_OUT": "0",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    checks: list[dict[str, object]] = json.loads((result / "checks.json").read_text())["checks"]
    return sum(float(str(c["score"])) for c in checks), checks


def test_scaffolded_task_grades_on_the_host(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    task = new_task("host-run", tmp_path / "tasks")
    full = load_task(task).spec.scoring.max_score

    total, checks = _grade_on_host(task, task / "solution", tmp_path / "solution")
    assert total == pytest.approx(full)
    assert sum(float(str(c["max_score"])) for c in checks) == pytest.approx(full)
    assert {c["visibility"] for c in checks} == {"applicant", "reviewer"}

    total, _ = _grade_on_host(task, task / "starter", tmp_path / "starter")
    assert total < full

    loaded = load_task(task)
    for name, (path, exp) in loaded.bad_cases().items():
        with case_folder(loaded, path, exp) as folder:
            total, _ = _grade_on_host(task, folder, tmp_path / "bad" / name)
        assert total <= exp.max_score + 1e-6, f"bad/{name} earned {total} > {exp.max_score}"


def test_bare_task_is_small_valid_and_grades_on_the_host(tmp_path: Path) -> None:
    """`assess task new --bare`: the smallest task validate accepts, nothing to delete."""
    task = new_task("bare-one", tmp_path / "tasks", bare=True)
    loaded = load_task(task)
    assert loaded.id == "bare-one" and loaded.spec.scoring.min_spread == 0.30
    files = sorted(p.relative_to(task).as_posix() for p in task.rglob("*") if p.is_file())
    assert len(files) <= 12, files
    assert not (task / "README.md").exists()
    assert [f.line() for f in lint(loaded)] == []
    total, _ = _grade_on_host(task, task / "solution", tmp_path / "solution")
    assert total == pytest.approx(100)
    total, _ = _grade_on_host(task, task / "starter", tmp_path / "starter")
    assert total == 0
    assert len(loaded.bad_cases()) >= 3
    for name, (path, exp) in loaded.bad_cases().items():
        assert exp.base is not None, "the bare task's bad cases show variants"
        with case_folder(loaded, path, exp) as folder:
            total, _ = _grade_on_host(task, folder, tmp_path / "bad" / name)
        assert total <= exp.max_score + 1e-6, f"bad/{name} earned {total} > {exp.max_score}"


def test_new_task_readme_describes_the_new_task(tmp_path: Path) -> None:
    path = new_task("readme-check", tmp_path)
    text = (path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("# readme-check (author notes)")
    assert "authoring spec in code" not in text
