"""Bad cases as variants of solution/ or starter/, and validate's static checks (lint)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.cases import build_case, case_folder, variant_of
from grader.errors import TaskSpecError
from grader.spec import load_expectation
from grader.task import iter_files, load_task
from grader.task_lint import lint
from tests.conftest import REPO
from tests.grader.test_spec import make_task, write

TASKS = sorted(p.parent for p in (REPO / "tasks").glob("*/task.toml"))
SOLUTION = "def f(x):\n    y = x + 1\n    return y * 2\n\n\ndef g():\n    return 0\n"


def _task(tmp_path: Path, expect: str, files: dict[str, str] | None = None) -> Path:
    root = make_task(tmp_path / "probe-task")
    write(root / "solution" / "solution.py", SOLUTION)
    write(root / "solution" / "notes.md", "the reference\n")
    write(root / "starter" / "solution.py", "def f(x):\n    raise NotImplementedError\n")
    write(root / "bad" / "case" / "expect.toml", expect)
    for rel, text in (files or {}).items():
        write(root / "bad" / "case" / rel, text)
    return root


def _build(root: Path, tmp_path: Path) -> Path:
    task = load_task(root)
    path, exp = task.bad_cases()["case"]
    return build_case(task, path, exp, tmp_path / "built")


def test_a_variant_is_the_base_with_its_edits(tmp_path: Path) -> None:
    root = _task(
        tmp_path,
        'max_score = 0\nwhy = "off by one"\nbase = "solution"\nremove = ["notes.md"]\n'
        '[[replace]]\nfile = "solution.py"\nold = "x + 1"\nnew = "x + 2"\n',
        {"extra.txt": "mine\n"},
    )
    built = _build(root, tmp_path)
    assert (built / "solution.py").read_text() == SOLUTION.replace("x + 1", "x + 2")
    assert not (built / "notes.md").exists()
    assert (built / "extra.txt").read_text() == "mine\n"
    assert not (built / "expect.toml").exists()
    # The task's own folders are untouched.
    assert (root / "solution" / "solution.py").read_text() == SOLUTION


def test_a_case_file_replaces_the_base_file(tmp_path: Path) -> None:
    root = _task(
        tmp_path,
        'max_score = 0\nwhy = "w"\nbase = "starter"\n',
        {"solution.py": "def f(x):\n    return 0\n"},
    )
    assert (_build(root, tmp_path) / "solution.py").read_text() == "def f(x):\n    return 0\n"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ('file = "solution.py"\nold = "x + 9"\nnew = "y"\n', "occurs 0 time(s), expected 1"),
        ('file = "solution.py"\nold = "return"\nnew = "yield"\n', "occurs 2 time(s), expected 1"),
        ('file = "missing.py"\nold = "a"\nnew = "b"\n', "'missing.py', which the case lacks"),
        ('file = "../solution/solution.py"\nold = "a"\nnew = "b"\n', "must be a relative path"),
    ],
)
def test_an_edit_that_does_not_apply_is_named(tmp_path: Path, edit: str, message: str) -> None:
    root = _task(tmp_path, f'max_score = 0\nwhy = "w"\nbase = "solution"\n[[replace]]\n{edit}')
    with pytest.raises(TaskSpecError) as info:
        _build(root, tmp_path)
    assert message in str(info.value) and "bad/case" in str(info.value)


def test_count_allows_an_edit_of_several_places(tmp_path: Path) -> None:
    root = _task(
        tmp_path,
        'max_score = 0\nwhy = "w"\nbase = "solution"\n'
        '[[replace]]\nfile = "solution.py"\nold = "return"\nnew = "yield"\ncount = 2\n',
    )
    assert (_build(root, tmp_path) / "solution.py").read_text().count("yield") == 2


def test_edits_without_a_base_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "expect.toml", 'max_score = 0\nremove = ["a.py"]\n')
    with pytest.raises(TaskSpecError, match="set base"):
        load_expectation(path)


def test_case_folder_builds_only_variants(tmp_path: Path) -> None:
    root = _task(tmp_path, 'max_score = 0\nwhy = "w"\n', {"solution.py": "x = 1\n"})
    task = load_task(root)
    path, exp = task.bad_cases()["case"]
    with case_folder(task, path, exp) as folder:
        assert folder == path


def test_variant_of_recovers_a_copy_byte_for_byte(tmp_path: Path) -> None:
    """The conversion tool's core: edits found from a whole copy rebuild that copy."""
    base = tmp_path / "base"
    case = tmp_path / "case"
    long = "".join(f"line {i}\n" for i in range(200)) + "return y\n" * 3
    write(base / "a.py", long)
    write(base / "gone.py", "x\n")
    changed = long.replace("line 50\n", "line fifty\n").replace("line 120\n", "")
    changed = changed.replace("line 199\nreturn y\n", "line 199\nreturn z\n")
    write(case / "a.py", changed)
    write(case / "expect.toml", 'max_score = 0\nwhy = "w"\n')
    keep, replace, remove = variant_of(base, case)
    assert keep == [] and remove == ["gone.py"] and replace
    text = long
    for r in replace:
        assert text.count(r["old"]) == 1
        text = text.replace(r["old"], r["new"])
    assert text == changed


@pytest.mark.parametrize("task_dir", TASKS, ids=[p.name for p in TASKS])
def test_every_library_variant_builds(task_dir: Path, tmp_path: Path) -> None:
    task = load_task(task_dir)
    for name, (path, exp) in task.bad_cases().items():
        if exp.base is None:
            continue
        built = build_case(task, path, exp, tmp_path / name)
        assert any(iter_files(built)), name


# ----------------------------------------------------------------------------- lint


@pytest.mark.parametrize("task_dir", TASKS, ids=[p.name for p in TASKS])
def test_library_tasks_lint_clean(task_dir: Path) -> None:
    assert [f.line() for f in lint(load_task(task_dir)) if f.level == "error"] == []


def test_lint_names_each_mistake(tmp_path: Path) -> None:
    root = tmp_path / "_template"
    shutil.copytree(REPO / "tasks" / "_template", root)
    check = root / "grading" / "check.py"
    check.write_text(check.read_text() + "\n\ndef helper():\n    return undefined_name\n")
    (root / "solution" / "solution.py").unlink()  # submission.required names it
    write(root / "bad" / "wrong-axis" / "expect.toml", "max_score = 31\n")  # no why
    write(
        root / "bad" / "stale" / "expect.toml",
        'max_score = 0\nwhy = "w"\nbase = "solution"\n'
        '[[replace]]\nfile = "solution.py"\nold = "gone"\nnew = "x"\n',
    )
    lines = [f.line() for f in lint(load_task(root)) if f.level == "error"]
    joined = "\n".join(lines)
    assert "grading/check.py:" in joined and "undefined_name" in joined
    assert "solution/: lacks solution.py" in joined
    assert "bad/wrong-axis/expect.toml: `why` is empty" in joined
    assert "bad/stale/expect.toml" in joined


def test_lint_needs_three_bad_cases(tmp_path: Path) -> None:
    root = tmp_path / "_template"
    shutil.copytree(REPO / "tasks" / "_template", root)
    for name in ("forge", "garbage-output"):
        shutil.rmtree(root / "bad" / name)
    lines = [f.line() for f in lint(load_task(root))]
    assert any("2 bad case(s); a task needs at least 3" in line for line in lines)


def test_the_conversion_script_reports_without_writing(tmp_path: Path) -> None:
    root = tmp_path / "_template"
    shutil.copytree(REPO / "tasks" / "_template", root)
    before = {p: p.read_bytes() for p in iter_files(root)}
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bad-cases-as-variants.py"), str(root)],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert "wrong-axis:" in out.stdout
    assert {p: p.read_bytes() for p in iter_files(root)} == before
