"""Files shared between tasks: pinned by sha256, copied at load, errors named."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from grader.errors import TaskSpecError
from grader.task import load_task
from grader.task_lint import lint
from tests.grader.test_spec import MINIMAL, make_task, write

WEIGHTS = b"\x00\x01model weights\xff" * 100


def _pair(tmp_path: Path, pin: str | None = None, source: str = "../owner/starter/model.bin",
          target: str = "starter/model.bin") -> Path:  # fmt: skip
    library = tmp_path / "tasks"
    owner = make_task(library / "owner", MINIMAL.replace("probe-task", "owner"))
    write(owner / "starter" / "model.bin", "")
    (owner / "starter" / "model.bin").write_bytes(WEIGHTS)
    digest = pin or hashlib.sha256(WEIGHTS).hexdigest()
    toml = MINIMAL.replace("probe-task", "user") + (
        f'\n[[shared]]\nsource = "{source}"\ntarget = "{target}"\nsha256 = "{digest}"\n'
    )
    return make_task(library / "user", toml)


def test_a_pinned_file_appears_at_its_target(tmp_path: Path) -> None:
    root = _pair(tmp_path)
    task = load_task(root)
    assert (root / "starter" / "model.bin").read_bytes() == WEIGHTS
    assert "starter/model.bin" in {p.relative_to(root).as_posix() for p in root.rglob("*")}
    digest = task.digest
    mtime = (root / "starter" / "model.bin").stat().st_mtime_ns
    assert load_task(root).digest == digest  # loading again changes nothing
    assert (root / "starter" / "model.bin").stat().st_mtime_ns == mtime
    assert any(".gitignore" in f.where for f in lint(task))
    write(root / ".gitignore", "starter/model.bin\n")
    assert not any(".gitignore" in f.where for f in lint(load_task(root)))


def test_a_changed_source_stops_the_load(tmp_path: Path) -> None:
    root = _pair(tmp_path)
    load_task(root)
    (tmp_path / "tasks" / "owner" / "starter" / "model.bin").write_bytes(WEIGHTS + b"retrained")
    with pytest.raises(TaskSpecError) as info:
        load_task(root)
    message = str(info.value)
    assert "changed" in message and "../owner/starter/model.bin" in message
    assert "\n" not in message
    # The copy made under the old pin is still the old file.
    assert (root / "starter" / "model.bin").read_bytes() == WEIGHTS


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("../../outside.bin", "starter/model.bin", "must be a file of another task"),
        ("starter/own.bin", "starter/model.bin", "must be a file of another task"),
        ("../owner/starter/absent.bin", "starter/model.bin", "does not exist"),
        ("/etc/passwd", "starter/model.bin", "must be relative"),
        ("../owner/starter/model.bin", "../escape.bin", "must stay inside"),
    ],
)
def test_bad_shared_entries_are_named(
    tmp_path: Path, source: str, target: str, expected: str
) -> None:
    (tmp_path / "outside.bin").write_bytes(WEIGHTS)
    root = _pair(tmp_path, source=source, target=target)
    write(root / "starter" / "own.bin", "x")
    with pytest.raises(TaskSpecError, match=expected):
        load_task(root)


def test_a_malformed_pin_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="sha256"):
        load_task(_pair(tmp_path, pin="not-a-digest"))
