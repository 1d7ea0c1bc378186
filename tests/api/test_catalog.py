"""The service's task reader keeps a Task until its folder changes, and sees every change."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from api import catalog
from grader.errors import TaskSpecError
from tests.api.conftest import PY_EXEC

QUIET_S = 0.05


@pytest.fixture
def task_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of py-exec, quiet (unchanged) for longer than the reader's window, here made
    short so the test need not wait seconds."""
    root = tmp_path / "py-exec"
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    monkeypatch.setattr(catalog, "QUIET_NS", int(QUIET_S * 1e9))
    time.sleep(QUIET_S * 2)
    return root


def test_an_unchanged_folder_is_read_once(task_root: Path) -> None:
    first = catalog.load(str(task_root))
    assert catalog.load(str(task_root)) is first


def test_a_folder_changed_lately_is_read_every_time(task_root: Path) -> None:
    """Within the window a same-size rewrite could keep every time the read saw (a coarse
    clock's tick): nothing read then is kept."""
    (task_root / "instructions.md").write_text("# Fixture\n\nJust written.\n")
    first = catalog.load(str(task_root))
    assert catalog.load(str(task_root)) is not first
    time.sleep(QUIET_S * 2)
    kept = catalog.load(str(task_root))
    assert catalog.load(str(task_root)) is kept


def _rewrite_keeping_size_and_mtime(path: Path, text: str) -> None:
    st = path.stat()
    assert len(text.encode()) == st.st_size
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` or a restore would


@pytest.mark.parametrize(
    "change",
    [
        "rewrite keeping size and mtime",
        "new file deep inside",
        "file removed",
        "file renamed",
        "mode changed",
    ],
)
def test_any_change_under_the_folder_is_read_again(task_root: Path, change: str) -> None:
    before = catalog.load(str(task_root))
    digest = before.digest  # read now: the Task computes it when first asked
    assert catalog.load(str(task_root)) is before
    answers = task_root / "grading" / "answers" / "expected.json"
    if change == "rewrite keeping size and mtime":
        old = answers.read_text()
        _rewrite_keeping_size_and_mtime(answers, old.replace("42", "41"))
    elif change == "new file deep inside":
        (task_root / "grading" / "inputs" / "more").mkdir(parents=True)
        (task_root / "grading" / "inputs" / "more" / "x.txt").write_text("x")
    elif change == "file removed":
        (task_root / "instructions.md").write_text("# Fixture\n\nNew words.\n")
        (task_root / "starter" / "main.py").unlink()
    elif change == "file renamed":
        answers.rename(answers.with_name("expected2.json"))
    else:
        os.chmod(task_root / "grading" / "check.py", 0o600)
    if change == "mode changed":
        # The reader itself refuses what the sandbox's user could not read: not a kept Task.
        with pytest.raises(TaskSpecError, match="not readable"):
            catalog.load(str(task_root))
        return
    after = catalog.load(str(task_root))
    assert after is not before
    assert after.digest != digest


def test_a_folder_that_went_bad_is_refused_every_time(task_root: Path) -> None:
    catalog.load(str(task_root))
    toml = task_root / "task.toml"
    toml.write_text(toml.read_text().replace('id = "py-exec"', 'id = "other"'))
    for _ in range(2):
        with pytest.raises(TaskSpecError, match="must match the folder name"):
            catalog.load(str(task_root))
    toml.write_text(toml.read_text().replace('id = "other"', 'id = "py-exec"'))
    assert catalog.load(str(task_root)).id == "py-exec"
