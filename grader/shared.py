"""Files a task uses from another task (``[[shared]]`` in task.toml), pinned by sha256.

At load the source is hashed; a hash other than the pin is an error naming both, so a
change to the other task (a retrained model, an edited helper) never reaches this task
unseen. The file is then copied to its target in this task's folder (once, atomically),
where bundling, mounting and the task digest treat it like any other file. Targets are
build products: list them in the task's .gitignore.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath

from grader.errors import TaskSpecError
from grader.spec import TASK_FILE, SharedFile


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _relative(root: Path, rel: str, what: str) -> Path:
    p = PurePosixPath(rel)
    if p.is_absolute() or not p.parts:
        raise TaskSpecError(f"{root / TASK_FILE}: shared {what} {rel!r} must be relative")
    return root.joinpath(*p.parts)


def resolve_shared(root: Path, shared: tuple[SharedFile, ...]) -> None:
    """Check each shared file against its pin and put it at its target.

    Raises:
        TaskSpecError: a source outside the sibling tasks, missing, or not matching its pin;
            a target outside this task or not writable (each named, one line).
    """
    spec_file = root / TASK_FILE
    for item in shared:
        src = _relative(root, item.source, "source").resolve()
        library = root.parent.resolve()
        if not src.is_relative_to(library) or src.is_relative_to(root):
            raise TaskSpecError(
                f"{spec_file}: shared source {item.source!r} must be a file of another task "
                f"in {library}"
            )
        if not src.is_file():
            raise TaskSpecError(f"{spec_file}: shared source {item.source!r} does not exist")
        actual = file_sha256(src)
        if actual != item.sha256:
            raise TaskSpecError(
                f"{spec_file}: shared source {item.source!r} has sha256 {actual[:16]}…, the pin "
                f"is {item.sha256[:16]}…: it changed; check it still suits this task, then "
                "update sha256"
            )
        target = _relative(root, item.target, "target")
        if ".." in PurePosixPath(item.target).parts or target.is_symlink():
            raise TaskSpecError(f"{spec_file}: shared target {item.target!r} must stay inside")
        if target.is_file() and file_sha256(target) == actual:
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".shared-tmp")
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)  # the sandboxes read task files as another user
            os.replace(tmp, target)
        except OSError as e:
            raise TaskSpecError(
                f"{spec_file}: cannot write shared target {item.target!r}: {e.strerror}"
            ) from None
