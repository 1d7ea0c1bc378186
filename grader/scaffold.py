"""`assess task new ID`: start a task from the commented template task (tasks/_template).

The copy is a working task from the first minute: it loads, validates and bundles, so an
author changes one thing at a time and re-validates. Only `id` and `title` are rewritten;
everything else (the toy softmax problem, its hidden cases, the known-bad cases) is meant to
be replaced by hand, guided by the comments and docs/authoring.md.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from grader.errors import TaskSpecError
from grader.spec import ID_PATTERN, TASK_FILE, valid_task_id
from grader.task import IGNORED_NAMES, load_task

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "tasks" / "_template"
"""The template task, next to the package in a source checkout."""

# Caches and the prepare stamp stay behind; a .gitignore is part of the template.
_SKIPPED = frozenset(IGNORED_NAMES - {".gitignore"})
_ID_LINE = re.compile(r'^id = "[^"\n]*"$', re.MULTILINE)
_TITLE_LINE = re.compile(r'^title = "[^"\n]*"$', re.MULTILINE)


def default_title(task_id: str) -> str:
    """A placeholder title from an id: ``sae-features`` -> ``Sae features (TODO: title)``."""
    words = task_id.replace("-", " ").strip()
    return f"{words[:1].upper()}{words[1:]} (TODO: title)"


def new_task(task_id: str, dest_root: Path, *, template: Path = TEMPLATE_DIR) -> Path:
    """Copy the template task to ``dest_root/task_id`` and give it its id and a title.

    Args:
        task_id: the new task's id (lower-case letters, digits, dashes; see task.toml).
        dest_root: the folder that will hold the task folder (created if missing).
        template: the template task folder (default: the repository's tasks/_template).

    Returns:
        The new task folder.

    Raises:
        TaskSpecError: the id is invalid, the folder already exists, the template is missing
            or no longer has the `id`/`title` lines this function rewrites.
    """
    if not valid_task_id(task_id):
        raise TaskSpecError(
            f"invalid task id {task_id!r}: use 2-63 lower-case letters, digits and dashes, "
            f"starting with a letter or digit (pattern {ID_PATTERN})"
        )
    dest = Path(dest_root) / task_id
    if dest.exists() or dest.is_symlink():
        raise TaskSpecError(f"{dest}: already exists; choose another id or remove it first")
    spec_file = template / TASK_FILE
    if not spec_file.is_file():
        raise TaskSpecError(
            f"{template}: template task not found (expected {spec_file}); "
            "run from a source checkout of assess"
        )
    text = spec_file.read_text(encoding="utf-8")
    if len(_ID_LINE.findall(text)) != 1 or len(_TITLE_LINE.findall(text)) != 1:
        raise TaskSpecError(
            f"{spec_file}: expected exactly one 'id = \"...\"' and one 'title = \"...\"' line"
        )
    text = _ID_LINE.sub(lambda _: f'id = "{task_id}"', text)
    text = _TITLE_LINE.sub(lambda _: f'title = "{default_title(task_id)}"', text)

    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, dest, symlinks=False, ignore=_ignore)
    try:
        (dest / TASK_FILE).write_text(text, encoding="utf-8")
        load_task(dest)  # the copy must be a valid task from the start
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _SKIPPED or n.endswith(".pyc")}
