"""A task's known-bad cases as the folders a grader reads.

A case folder is either a whole submission or, when its ``expect.toml`` names a ``base``,
a variant of the task's solution/ or starter/: the base's files, the case's own files in
place of theirs, ``remove`` applied, then each ``replace`` (``old`` must occur exactly
``count`` times). Variants keep a bad case to the lines that make it bad, so a fix to the
reference reaches every case built on it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory

from grader.errors import TaskSpecError
from grader.spec import EXPECT_FILE, Expectation
from grader.task import Task, iter_files


def _inside(root: Path, rel: str, what: str) -> Path:
    """`rel` as a path under `root`; names that climb out or are absolute are refused."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise TaskSpecError(f"{what}: {rel!r} must be a relative path inside the case")
    return root.joinpath(*p.parts)


def build_case(task: Task, case_dir: Path, exp: Expectation, dest: Path) -> Path:
    """Write the submission a case stands for into the empty folder `dest`; returns it.

    Raises:
        TaskSpecError: a removed or replaced file is missing, or an `old` text does not
            occur exactly `count` times (named with the case and the file).
    """
    label = f"{task.id}: bad/{case_dir.name}"
    dest.mkdir(parents=True, exist_ok=True)
    if exp.base is not None:
        base = task.solution if exp.base == "solution" else task.starter
        for src in iter_files(base):
            out = dest / src.relative_to(base)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)
    for src in iter_files(case_dir):
        own = src.relative_to(case_dir)
        if own.as_posix() == EXPECT_FILE:
            continue
        out = dest / own
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
    for name in exp.remove:
        target = _inside(dest, name, label)
        if not target.is_file():
            raise TaskSpecError(f"{label}: remove names {name!r}, which {exp.base}/ lacks")
        target.unlink()
    for r in exp.replace:
        target = _inside(dest, r.file, label)
        if not target.is_file():
            raise TaskSpecError(f"{label}: replace names {r.file!r}, which the case lacks")
        text = target.read_text(encoding="utf-8")
        found = text.count(r.old)
        if found != r.count:
            head = r.old.strip().splitlines()[0][:60] if r.old.strip() else repr(r.old)
            raise TaskSpecError(
                f"{label}: in {r.file}, {head!r} occurs {found} time(s), expected {r.count}"
            )
        target.write_text(text.replace(r.old, r.new), encoding="utf-8")
    return dest


@contextmanager
def case_folder(task: Task, case_dir: Path, exp: Expectation) -> Iterator[Path]:
    """The folder to grade for a case: its own for a whole submission, else a built copy."""
    if exp.base is None:
        yield case_dir
        return
    with TemporaryDirectory(prefix=f"assess-case-{case_dir.name}-") as tmp:
        yield build_case(task, case_dir, exp, Path(tmp) / "case")


# ----------------------------------------------------------------- turning copies into variants


def _edits(base: str, case: str) -> list[tuple[str, str]] | None:
    """(old, new) pairs that turn `base` into `case` applied in order, each `old` unique in
    the text at its turn (lines of context are added until it is); None if none are found."""
    import difflib

    cur = base.splitlines(keepends=True)
    want = case.splitlines(keepends=True)
    edits: list[tuple[str, str]] = []
    delta = 0
    ops = difflib.SequenceMatcher(None, cur, want, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            continue
        lo, hi = i1 + delta, i2 + delta  # the changed lines' place in the current text
        start, end = lo, hi
        while True:
            old = "".join(cur[start:end])
            if old and "".join(cur).count(old) == 1:
                break
            if start == 0 and end == len(cur):
                return None
            start, end = max(0, start - 1), min(len(cur), end + 1)
        new_lines = cur[start:lo] + want[j1:j2] + cur[hi:end]
        edits.append((old, "".join(new_lines)))
        cur[start:end] = new_lines
        delta += (j2 - j1) - (i2 - i1)
    return edits if "".join(cur) == case else None


def variant_of(base_dir: Path, case_dir: Path) -> tuple[list[str], list[dict[str, str]], list[str]]:
    """How `case_dir` (a whole submission) differs from `base_dir`.

    Returns (files to keep whole, replace entries, files to remove). A text file becomes
    replace entries when they are less than half its size; other changed files stay whole.
    """
    keep: list[str] = []
    replace: list[dict[str, str]] = []
    base_files = {p.relative_to(base_dir).as_posix(): p for p in iter_files(base_dir)}
    case_files = {
        p.relative_to(case_dir).as_posix(): p
        for p in iter_files(case_dir)
        if p.relative_to(case_dir).as_posix() != EXPECT_FILE
    }
    remove = sorted(set(base_files) - set(case_files))
    for rel, p in sorted(case_files.items()):
        b = base_files.get(rel)
        if b is not None and b.read_bytes() == p.read_bytes():
            continue
        edits = None
        if b is not None:
            try:
                edits = _edits(b.read_text(encoding="utf-8"), p.read_text(encoding="utf-8"))
            except UnicodeDecodeError:
                edits = None
        size = sum(len(o) + len(n) for o, n in edits or [])
        if edits and size * 2 < p.stat().st_size:
            replace += [{"file": rel, "old": o, "new": n} for o, n in edits]
        else:
            keep.append(rel)
    return keep, replace, remove
