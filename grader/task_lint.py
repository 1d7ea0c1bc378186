"""`assess task validate`'s static checks: what is wrong with a task before anything runs.

Each finding is one line naming the file. Errors make the task invalid; they are the
mistakes that otherwise surface late (a typo in check.py found by the first applicant, a
bad case whose edit no longer applies, a required file the reference lacks).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import subprocess
import sys
from pathlib import Path
from tempfile import TemporaryDirectory

from pydantic import BaseModel

from grader.errors import TaskSpecError
from grader.task import Task, iter_files

# Enough bad cases to say which mistakes the check catches (a forging one among them).
MIN_BAD_CASES = 3
# Pyflakes (undefined names, unused imports, redefinitions) and syntax errors: mistakes,
# not style. A task's authors keep their own style.
RUFF_RULES = "F,E9"


class Finding(BaseModel):
    """One lint result: ``level`` is "error" (invalid) or "warning" (reported only)."""

    level: str
    where: str
    message: str

    def line(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


def lint(task: Task) -> list[Finding]:
    """Every finding for `task`, errors first."""
    found = _cases(task) + _required(task) + _kit_excludes(task) + _shared(task) + _python(task)
    return sorted(found, key=lambda f: (f.level != "error", f.where))


def _rel(task: Task, p: Path) -> str:
    return p.relative_to(task.root).as_posix()


def _cases(task: Task) -> list[Finding]:
    from grader.cases import build_case

    out: list[Finding] = []
    cases = task.bad_cases()
    if len(cases) < MIN_BAD_CASES:
        out.append(
            Finding(
                level="error",
                where="bad/",
                message=f"{len(cases)} bad case(s); a task needs at least {MIN_BAD_CASES} "
                "(realistic wrong approaches and one forging case)",
            )
        )
    for name, (path, exp) in cases.items():
        where = f"bad/{name}/expect.toml"
        if not exp.why.strip():
            out.append(
                Finding(level="error", where=where, message="`why` is empty: say what is wrong")
            )
        if exp.base is None:
            continue
        with TemporaryDirectory() as tmp:
            try:
                build_case(task, path, exp, Path(tmp) / "case")
            except TaskSpecError as e:
                out.append(Finding(level="error", where=where, message=str(e)))
    return out


def _required(task: Task) -> list[Finding]:
    out: list[Finding] = []
    for folder in (task.solution,):
        for rel in task.spec.submission.required:
            if not (folder / rel).is_file():
                out.append(
                    Finding(
                        level="error",
                        where=_rel(task, folder) + "/",
                        message=f"lacks {rel}, which submission.required demands",
                    )
                )
    return out


def _kit_excludes(task: Task) -> list[Finding]:
    names = [_rel(task, p)[len("starter/") :] for p in iter_files(task.starter)]
    return [
        Finding(
            level="warning",
            where="task.toml [kit] exclude",
            message=f"{pattern!r} matches no file of starter/",
        )
        for pattern in task.spec.kit.exclude
        if not any(fnmatch.fnmatch(n, pattern) for n in names)
    ]


def _shared(task: Task) -> list[Finding]:
    """Shared files are copies made at load: committing them would defeat the pin."""
    ignore = task.root / ".gitignore"
    listed = ignore.read_text(encoding="utf-8").split() if ignore.is_file() else []
    return [
        Finding(
            level="warning",
            where=".gitignore",
            message=f"add {item.target} (a copy of {item.source} made at load)",
        )
        for item in task.spec.shared
        if item.target not in listed and "/" + item.target not in listed
    ]


def _python(task: Task) -> list[Finding]:
    """Pyflakes findings over the task's own code (bad cases are wrong on purpose)."""
    files = [
        p
        for folder in (task.grading, task.solution, task.starter)
        if folder.is_dir()
        for p in iter_files(folder)
        if p.suffix == ".py"
    ]
    if not files:
        return []
    if importlib.util.find_spec("ruff") is None:
        return _syntax_only(task, files)
    # Run from the task folder with relative paths: findings name files as the author does.
    args = ["--no-cache", "--isolated", "--select", RUFF_RULES, "--output-format", "concise"]
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *args, *(_rel(task, p) for p in files)],
        cwd=task.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out: list[Finding] = []
    for raw in proc.stdout.splitlines():
        # "grading/check.py:12:5: F821 Undefined name `x`"; summary lines have no such prefix.
        where, sep, message = raw.partition(": ")
        if sep and where.endswith(tuple("0123456789")) and ".py:" in where:
            out.append(Finding(level="error", where=where, message=message.strip()))
    if proc.returncode not in (0, 1) and not out:
        out.append(
            Finding(level="warning", where="(lint)", message=f"ruff failed: {proc.stderr[:200]}")
        )
    return out


def _syntax_only(task: Task, files: list[Path]) -> list[Finding]:
    out = [
        Finding(
            level="warning",
            where="(lint)",
            message="ruff is not installed: only syntax was checked (pip install ruff)",
        )
    ]
    for p in files:
        try:
            compile(p.read_bytes(), str(p), "exec")
        except SyntaxError as e:
            out.append(Finding(level="error", where=f"{_rel(task, p)}:{e.lineno}", message=e.msg))
    return out
