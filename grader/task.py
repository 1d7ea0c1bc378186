"""A task folder on disk: its spec, its layout, and a digest for provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import TaskSpecError
from grader.rubric import Rubric, load_rubric
from grader.spec import (
    EXPECT_FILE,
    TASK_FILE,
    Expectation,
    TaskKind,
    TaskSpec,
    load_expectation,
    load_spec,
)

if TYPE_CHECKING:
    from grader.questions import Key, Questions

# Records the prepare step's inputs hash; lives in the task folder, gitignored.
STAMP_FILE = ".assess-prepared.json"
# Never part of the digest or a kit: caches, editor droppings, our own stamp.
IGNORED_NAMES = frozenset(
    {"__pycache__", ".pytest_cache", ".ipynb_checkpoints", ".DS_Store", ".gitignore", STAMP_FILE}
)


def iter_files(root: Path) -> list[Path]:
    """All regular files under `root`, sorted, skipping caches; symlinks are not followed."""
    out: list[Path] = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part in IGNORED_NAMES for part in rel.parts) or p.suffix == ".pyc":
            continue
        if p.is_file() and not p.is_symlink():
            out.append(p)
    return out


@dataclass(frozen=True)
class Task:
    """A loaded task folder. Construct with :func:`load_task`."""

    root: Path
    spec: TaskSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def starter(self) -> Path:
        return self.root / "starter"

    @property
    def solution(self) -> Path:
        return self.root / "solution"

    @property
    def grading(self) -> Path:
        return self.root / "grading"

    @property
    def run_script(self) -> Path:
        return self.grading / "run.py"

    @property
    def check_script(self) -> Path:
        return self.grading / "check.py"

    @property
    def inputs(self) -> Path:
        """Hidden inputs: visible to the untrusted run phase (never answers)."""
        return self.grading / "inputs"

    @property
    def answers(self) -> Path:
        """Hidden answers: visible only to the trusted check phase."""
        return self.grading / "answers"

    @cached_property
    def rubric(self) -> Rubric | None:
        """Criteria reviewers score by hand (rubric.toml), if the task has any."""
        return load_rubric(self.root)

    @cached_property
    def questions(self) -> Questions | None:
        """Research-taste items (questions.toml, public), or None for other kinds."""
        if self.spec.kind != TaskKind.research_taste:
            return None
        from grader.questions import QUESTIONS_FILE, load_questions

        return load_questions(
            self.root / QUESTIONS_FILE, max_score=self.spec.scoring.max_score, rubric=self.rubric
        )

    @cached_property
    def key(self) -> Key | None:
        """The hidden key of a research-taste task (grading/answers/key.toml), resolved."""
        if self.questions is None:
            return None
        from grader.questions import load_key

        return load_key(self.root, self.questions)

    def bad_cases(self) -> dict[str, tuple[Path, Expectation]]:
        """Known-bad submissions by case name, each with its declared expectation."""
        bad = self.root / "bad"
        if not bad.is_dir():
            return {}
        return {
            d.name: (d, load_expectation(d / EXPECT_FILE))
            for d in sorted(bad.iterdir())
            if d.is_dir() and d.name not in IGNORED_NAMES
        }

    @cached_property
    def digest(self) -> str:
        """sha256 over every file's path and content: changes whenever the task does."""
        h = hashlib.sha256()
        for p in iter_files(self.root):
            rel = p.relative_to(self.root).as_posix()
            h.update(rel.encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
        return h.hexdigest()


def load_task(root: Path | str) -> Task:
    """Load a task folder and check its layout.

    Raises:
        TaskSpecError: the folder, its task.toml, or a required file is missing or wrong.
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise TaskSpecError(f"{root}: not a task folder (no such directory)")
    spec = load_spec(root / TASK_FILE)
    if spec.id != root.name and not root.name.startswith("_"):
        raise TaskSpecError(
            f"{root / TASK_FILE}: field 'id': {spec.id!r} must match the folder name {root.name!r}"
        )
    if spec.shared:  # before anything reads the folder: the targets are part of it
        from grader.shared import resolve_shared

        resolve_shared(root, spec.shared)
    task = Task(root=root, spec=spec)
    _ = task.rubric  # a malformed rubric.toml is a task error now, not at grading time
    needed = [root / "instructions.md", task.run_script, task.check_script]
    if spec.kind == TaskKind.research_taste:  # a form scored on the host: no run.py/check.py
        needed = [root / "instructions.md", root / "questions.toml"]
    for required in needed:
        if not required.is_file():
            raise TaskSpecError(f"{root}: missing required file {required.relative_to(root)}")
    for folder in (task.starter, task.solution):
        if not folder.is_dir():
            raise TaskSpecError(f"{root}: missing required folder {folder.relative_to(root)}/")
    _ = task.key  # research-taste: the items, the key and its measured outcomes agree
    _check_readable(task)
    return task


def _check_readable(task: Task) -> None:
    """The sandboxes mount grading/ and starter/ as they are, for an unprivileged user.

    Raises:
        TaskSpecError: a file or folder there is not readable by others (e.g. a build step
            that wrote mode 0600); the check phase would fail on it at grading time.
    """
    for folder in (task.grading, task.starter):
        if not folder.is_dir():
            continue
        for p in [folder, *folder.rglob("*")]:
            if p.is_symlink() or any(part in IGNORED_NAMES for part in p.parts):
                continue
            need = 0o005 if p.is_dir() else 0o004
            mode = p.stat().st_mode
            if mode & need != need:
                raise TaskSpecError(
                    f"{p}: not readable by the sandbox's user (mode {mode & 0o777:o}); "
                    f"run: chmod -R a+rX {task.root}"
                )
