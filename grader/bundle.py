"""`assess bundle`: the applicant kit — instructions, starter files and a kit.toml.

Nothing from grading/, solution/ or bad/ can enter the kit: only instructions.md and the
contents of starter/ are read, and the zip is checked afterwards as a second line of defence.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import zipfile
from pathlib import Path

from grader.errors import AssessError
from grader.task import Task, iter_files

KIT_FILE = "kit.toml"
# Zip entries get a fixed timestamp so the same task always bundles to the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)


def kit_toml(task: Task) -> str:
    """The kit's manifest: what `assess check` needs to know, nothing hidden."""
    s = task.spec
    lines = [
        "# Written by `assess bundle`; `assess check` reads it. Do not edit.",
        f'task = "{s.id}"',
        f'version = "{s.version}"',
        f"title = {_toml_str(s.title)}",
        f"time_budget_minutes = {s.time_budget_minutes}",
        f"required = [{', '.join(_toml_str(r) for r in s.submission.required)}]",
        f"max_files = {s.submission.max_files}",
        f"max_bytes = {s.submission.max_bytes}",
        f"allow_notebook = {'true' if s.submission.allow_notebook else 'false'}",
        f"check_command = [{', '.join(_toml_str(c) for c in s.kit.check_command)}]",
        f"requires = [{', '.join(_toml_str(m) for m in kit_requires(task))}]",
    ]
    if task.questions is not None:  # research-taste: `assess check` validates the answers file
        lines += [
            'kind = "research-taste"',
            f"answers_file = {_toml_str(task.questions.answers_file)}",
        ]
    return "\n".join(lines) + "\n"


def kit_requires(task: Task) -> list[str]:
    """The modules the kit's code imports that Python itself lacks (numpy, torch, ...), and
    pytest when the visible checks use it: `assess check` names any the applicant's Python
    cannot import instead of failing with a collection error."""
    import ast
    import sys

    files = kit_files(task)
    local = {Path(name).parts[0].removesuffix(".py") for name in files}
    found: set[str] = set()
    for name, src in files.items():
        if not name.endswith(".py"):
            continue
        try:
            tree = ast.parse(src.read_bytes())
        except (SyntaxError, ValueError):
            continue  # a starter may be deliberately incomplete; intake does not parse it
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    if "pytest" in task.spec.kit.check_command:
        found.add("pytest")
    return sorted(m for m in found - local if m not in sys.stdlib_module_names)


def _toml_str(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def kit_files(task: Task) -> dict[str, Path]:
    """Archive name -> source file for everything that goes into the kit."""
    files: dict[str, Path] = {"instructions.md": task.root / "instructions.md"}
    reserved = {KIT_FILE, "instructions.md"}
    if task.questions is not None:  # research-taste: the items and criteria are public
        files["questions.toml"] = task.root / "questions.toml"
        if (task.root / "rubric.toml").is_file():
            files["rubric.toml"] = task.root / "rubric.toml"
        reserved |= {*files, task.questions.answers_file}
    for p in iter_files(task.starter):
        rel = p.relative_to(task.starter).as_posix()
        if any(fnmatch.fnmatch(rel, pat) for pat in task.spec.kit.exclude):
            continue
        if rel in reserved:
            raise AssessError(f"{p}: starter/ must not contain {rel} (the bundler writes it)")
        files[rel] = p
    return files


def bundle(task: Task, out: Path) -> list[str]:
    """Write the kit zip to `out` atomically; return the archive names.

    Raises:
        AssessError: the kit would contain a hidden file, or `out` cannot be written.
    """
    files = kit_files(task)
    top = f"{task.id}-kit"
    hidden = [task.grading.resolve(), task.solution.resolve(), (task.root / "bad").resolve()]
    for src in files.values():
        r = src.resolve()
        if any(r.is_relative_to(h) for h in hidden):
            raise AssessError(f"{src}: refusing to bundle a hidden file into the kit")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".kit-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            names = [f"{top}/{KIT_FILE}"]
            _write(zf, names[0], kit_toml(task).encode())
            for rel in sorted(files):
                names.append(f"{top}/{rel}")
                _write(zf, names[-1], files[rel].read_bytes())
            if task.questions is not None:  # the answers template, generated from the items
                names.append(f"{top}/{task.questions.answers_file}")
                _write(zf, names[-1], answers_template_for(task).encode())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return names


def answers_template_for(task: Task) -> str:
    """A research-taste task's answers template (the kit's file to fill in)."""
    from grader.questions import answers_template

    assert task.questions is not None
    s = task.spec
    return answers_template(task.questions, task_id=s.id, version=s.version, title=s.title)


def _write(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
