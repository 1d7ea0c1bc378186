"""The tasks the service grades: loaded from task folders into the ``tasks`` table.

The folder stays the source of truth (the grader reads it); the row records what the
service showed and scored against (version, digest, rubric), and is refreshed by
:func:`sync_tasks` at start-up and before a re-grade.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.models import TaskRow, utcnow
from grader.errors import TaskSpecError
from grader.task import Task, load_task

log = logging.getLogger("assess.catalog")


def task_folders(dirs: tuple[Path, ...]) -> list[Path]:
    """Folders with a task.toml under `dirs`, skipping ``_``-prefixed ones (templates)."""
    found: list[Path] = []
    for d in dirs:
        if (d / "task.toml").is_file():
            found.append(d)
            continue
        if not d.is_dir():
            continue
        for child in sorted(d.iterdir()):
            if child.name.startswith(("_", ".")) or not (child / "task.toml").is_file():
                continue
            found.append(child)
    return found


def rubric_data(task: Task) -> dict[str, Any]:
    if task.rubric is None:
        return {}
    return task.rubric.model_dump(mode="json")


def upsert_task(session: Session, task: Task) -> TaskRow:
    """Record `task` (new, or refreshed after its folder changed)."""
    s = task.spec
    row = session.get(TaskRow, s.id)
    values: dict[str, Any] = {
        "title": s.title,
        "kind": s.kind.value,
        "version": s.version,
        "digest": task.digest,
        "root": str(task.root),
        "gpu": s.resources.gpu,
        "max_score": s.scoring.max_score,
        "automatic_weight": s.scoring.automatic_weight if task.rubric else 1.0,
        "rubric": rubric_data(task),
    }
    if row is None:
        row = TaskRow(id=s.id, **values)
        session.add(row)
    else:
        changed = any(getattr(row, k) != v for k, v in values.items())
        for k, v in values.items():
            setattr(row, k, v)
        if changed:
            row.loaded_at = utcnow()
    return row


def sync_tasks(session: Session, dirs: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    """Load every task folder under `dirs`; return (loaded ids, one-line problems)."""
    loaded, problems = [], []
    for folder in task_folders(dirs):
        try:
            task = load_task(folder)
        except TaskSpecError as e:
            problems.append(str(e))
            log.warning("skipping task folder: %s", e)
            continue
        upsert_task(session, task)
        loaded.append(task.id)
    return loaded, problems


# root -> (the folder's signature when it was read, the Task read from it)
_LOADED: dict[str, tuple[tuple[object, ...], Task]] = {}
# A folder is kept only once nothing under it has changed for this long. File times come
# from a coarse clock (a few milliseconds on Linux, seconds on some file systems): a file
# rewritten with its old size within the same tick as the read would show the same times.
QUIET_NS = 2_000_000_000


def load(root: str) -> Task:
    """The grader's Task for a folder, as it is on disk now.

    Every upload and every grading asks for its task. Reading it means parsing its TOML
    files and hashing every file for the digest (a task with a model or a dataset holds
    megabytes), so the Task is kept and read again only when the folder changed: when any
    file or folder under it was added, removed, replaced, written or had its mode changed
    (:func:`folder_signature`). A folder changed in the last :data:`QUIET_NS` is read every
    time. So is a task with shared files: its pins are checked against other folders."""
    path = Path(root)
    signature, newest = folder_signature(path)  # before the read: a change during it shows
    kept = _LOADED.get(root)
    if kept is not None and kept[0] == signature:
        return kept[1]
    task = load_task(path)
    if not task.spec.shared and newest < time.time_ns() - QUIET_NS:
        _LOADED[root] = (signature, task)
    return task


def folder_signature(root: Path) -> tuple[tuple[object, ...], int]:
    """What changes whenever anything under `root` does, and the newest change's time.

    The signature lists each entry's path, mode, inode, size, and modification and
    status-change times (ns). The status-change time moves on every write, rename or chmod
    and cannot be set back by a program, so a file rewritten with its old size and
    modification time still reads as changed. Symbolic links are not followed (the task's
    reader does not follow them either)."""
    entries: list[object] = [os.path.realpath(root)]
    newest = 0
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            st = folder.stat()
            with os.scandir(folder) as it:
                found = sorted(it, key=lambda e: e.name)
        except OSError as e:  # gone or unreadable: the read itself reports it
            entries.append((os.fspath(folder), type(e).__name__))
            newest = time.time_ns()
            continue
        newest = max(newest, st.st_ctime_ns, st.st_mtime_ns)
        for entry in found:
            st = entry.stat(follow_symlinks=False)
            entries.append(
                (entry.path, st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            )
            newest = max(newest, st.st_ctime_ns, st.st_mtime_ns)
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
    return tuple(entries), newest
