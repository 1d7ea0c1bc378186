"""The tasks the service grades: loaded from task folders into the ``tasks`` table.

The folder stays the source of truth (the grader reads it); the row records what the
service showed and scored against (version, digest, rubric), and is refreshed by
:func:`sync_tasks` at start-up and before a re-grade.
"""

from __future__ import annotations

import logging
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


def load(root: str) -> Task:
    """The grader's Task for a folder, read afresh (a few small files) for every grading."""
    return load_task(Path(root))
