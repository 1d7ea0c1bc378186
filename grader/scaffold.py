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
BARE_DIR = Path(__file__).resolve().parent / "bare_task"
"""The smallest valid task (`assess task new --bare`), shipped inside the package."""

# Caches and the prepare stamp stay behind; a .gitignore is part of the template.
_SKIPPED = frozenset(IGNORED_NAMES - {".gitignore"})
_ID_LINE = re.compile(r'^id = "[^"\n]*"$', re.MULTILINE)
_TITLE_LINE = re.compile(r'^title = "[^"\n]*"$', re.MULTILINE)
# The template's own spread rule is looser than the library's: a new task gets the default.
_MIN_SPREAD_LINE = re.compile(r"^min_spread = [0-9.]+$", re.MULTILINE)


def default_title(task_id: str) -> str:
    """A placeholder title from an id: ``sae-features`` -> ``Sae features (TODO: title)``."""
    words = task_id.replace("-", " ").strip()
    return f"{words[:1].upper()}{words[1:]} (TODO: title)"


def new_task(
    task_id: str, dest_root: Path, *, template: Path = TEMPLATE_DIR, bare: bool = False
) -> Path:
    """Copy the template task to ``dest_root/task_id`` and give it its id and a title.

    Args:
        task_id: the new task's id (lower-case letters, digits, dashes; see task.toml).
        dest_root: the folder that will hold the task folder (created if missing).
        template: the template task folder (default: the repository's tasks/_template).
        bare: start from the smallest valid task instead (grader/bare_task: one function,
            three bad cases written as variants of the solution, no toy to delete).

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
    if bare:
        template = BARE_DIR
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
    text = _MIN_SPREAD_LINE.sub("# min_spread = 0.30", text)

    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, dest, symlinks=False, ignore=_ignore)
    try:
        (dest / TASK_FILE).write_text(text, encoding="utf-8")
        readme = dest / "README.md"
        if readme.is_file():  # the template's notes describe the template, not this task
            readme.write_text(_readme(task_id), encoding="utf-8")
        load_task(dest)  # the copy must be a valid task from the start
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def _readme(task_id: str) -> str:
    return (
        f"# {task_id} (author notes)\n\n"
        "Notes for the task's authors and reviewers; applicants never see this file.\n\n"
        "- What the task measures, and why its hidden set measures that skill:\n"
        "- How the reference was measured (wall and CPU seconds, memory):\n"
        "- Each bad case and the mistake it stands for (see bad/*/expect.toml):\n\n"
        f"Validate with `assess task validate tasks/{task_id}`; the walk-through is "
        "docs/authoring.md.\n"
    )


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _SKIPPED or n.endswith(".pyc")}
