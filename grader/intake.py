"""Submission intake: turn a folder, .zip or .ipynb into a safe, normalised folder.

Everything here treats the submission as hostile. An archive is never extracted with
``extractall``: each member is checked (no absolute paths, no ``..``, no links or device
files, sane names) and copied with byte limits enforced while reading, because the sizes
a zip declares can lie (zip bombs). The normalised copy has plain files only, mode 0644,
so the sandbox's non-root user can read it and nothing in it can point elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from grader.errors import IntakeError
from grader.member_names import check_member_name as check_member_name  # re-exported
from grader.report import SubmissionRef
from grader.spec import Notebook, SubmissionRules
from grader.task import IGNORED_NAMES

# Archive clutter that is dropped rather than rejected.
DROPPED_PREFIXES = ("__MACOSX/",)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Submission:
    """A submission after intake: a normalised folder and its identity."""

    root: Path
    ref: SubmissionRef


def _ignored(rel: PurePosixPath) -> bool:
    return any(p in IGNORED_NAMES for p in rel.parts) or rel.suffix == ".pyc"


class _Writer:
    """Writes normalised files under `dest`, enforcing count and byte limits."""

    def __init__(self, dest: Path, rules: SubmissionRules, exclude: frozenset[str]) -> None:
        self.dest = dest
        self.rules = rules
        self.exclude = exclude
        self.files: dict[str, str] = {}  # rel path -> sha256
        self.total = 0

    def add(self, rel: PurePosixPath, chunks: Iterable[bytes]) -> None:
        key = rel.as_posix()
        if key in self.exclude or _ignored(rel):
            return
        if key in self.files:
            raise IntakeError(f"rejected path {key!r}: appears twice")
        if len(self.files) >= self.rules.max_files:
            raise IntakeError(f"too many files: more than {self.rules.max_files}")
        target = self.dest.joinpath(*rel.parts)
        for parent in reversed(target.relative_to(self.dest).parents):
            p = self.dest / parent
            if p.exists() and not p.is_dir():
                raise IntakeError(f"rejected path {key!r}: a file and a folder share a name")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise IntakeError(f"rejected path {key!r}: a file and a folder share a name")
        h = hashlib.sha256()
        with target.open("wb") as out:
            for chunk in chunks:
                self.total += len(chunk)
                if self.total > self.rules.max_bytes:
                    raise IntakeError(
                        f"too large: more than {self.rules.max_bytes} bytes uncompressed"
                    )
                h.update(chunk)
                out.write(chunk)
        target.chmod(0o644)
        self.files[key] = h.hexdigest()


def _read_chunks(f: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def _from_folder(src: Path, w: _Writer) -> None:
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(dirnames):
            st = os.lstat(base / name)
            if stat.S_ISLNK(st.st_mode):
                rel_dir = (base / name).relative_to(src)
                raise IntakeError(f"rejected {rel_dir}: symlinks are not allowed")
        for name in sorted(filenames):
            p = base / name
            rel = check_member_name(p.relative_to(src).as_posix())
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                raise IntakeError(f"rejected {rel}: symlinks are not allowed")
            if not stat.S_ISREG(st.st_mode):
                raise IntakeError(f"rejected {rel}: not a regular file (device, fifo or socket)")
            # O_NOFOLLOW closes the race where a file is swapped for a link after lstat.
            fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as f:
                w.add(rel, _read_chunks(f))


def _from_zip(src: Path, w: _Writer) -> None:
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise IntakeError(f"{src.name}: not a readable zip archive ({e})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > w.rules.max_files * 2 + 100:
            raise IntakeError(f"too many files: archive lists {len(infos)} entries")
        declared = sum(i.file_size for i in infos)
        if declared > w.rules.max_bytes:
            raise IntakeError(f"too large: archive declares {declared} bytes uncompressed")
        for info in infos:
            if info.filename.startswith(DROPPED_PREFIXES):
                continue
            mode = info.external_attr >> 16
            if info.create_system == 3 and mode:  # made on Unix: the mode bits are meaningful
                if stat.S_ISLNK(mode):
                    raise IntakeError(f"rejected {info.filename!r}: symlinks are not allowed")
                if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise IntakeError(
                        f"rejected {info.filename!r}: not a regular file (device, fifo or socket)"
                    )
            if info.flag_bits & 0x1:
                raise IntakeError(f"rejected {info.filename!r}: encrypted entries are not allowed")
            rel = check_member_name(info.filename)
            if info.is_dir():
                continue
            try:
                with zf.open(info) as f:
                    w.add(rel, _read_chunks(f))
            except (zipfile.BadZipFile, NotImplementedError, EOFError) as e:
                raise IntakeError(f"rejected {info.filename!r}: unreadable entry ({e})") from None


def _from_notebook(src: Path, w: _Writer, rules: Notebook) -> None:
    size = src.stat().st_size
    if size > w.rules.max_bytes:
        raise IntakeError(f"too large: notebook is {size} bytes, limit {w.rules.max_bytes}")
    raw = src.read_bytes()
    _check_notebook(raw, src.name, rules)  # nbformat v4 schema, output size, answer tags
    w.add(check_member_name(src.name), [raw])


def _single_notebook(dest: Path, w: _Writer, rules: Notebook) -> bool:
    """A folder or zip whose only file is one top-level .ipynb is a notebook submission."""
    if len(w.files) != 1:
        return False
    (only,) = w.files
    if "/" in only or not only.lower().endswith(".ipynb"):
        return False
    _check_notebook((dest / only).read_bytes(), only, rules)
    return True


def _check_notebook(raw: bytes, name: str, rules: Notebook) -> None:
    from grader.notebook._format import check_notebook  # only notebooks pay for its import

    check_notebook(raw, name, rules)


def content_sha256(files: dict[str, str]) -> str:
    """The submission's identity: sha256 over sorted (path, content hash) pairs."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + files[rel].encode() + b"\n")
    return h.hexdigest()


def intake(
    source: Path | str,
    rules: SubmissionRules,
    dest: Path,
    *,
    exclude: frozenset[str] = frozenset(),
    notebook: Notebook | None = None,
) -> Submission:
    """Validate `source` and write its normalised copy to `dest` (created; must not exist).

    Args:
        source: a folder, a ``.zip`` archive or an ``.ipynb`` notebook.
        rules: the task's submission rules (limits, required files).
        dest: where the normalised copy goes; removed again if intake fails.
        exclude: relative paths to leave out (e.g. a known-bad case's ``expect.toml``).
        notebook: the task's notebook rules (output bound, required answer tags); with
            ``rules.allow_notebook``, a folder or zip holding only one ``.ipynb`` is a
            notebook submission too, and ``rules.required`` does not apply to notebooks.

    Raises:
        IntakeError: one line saying what was wrong; nothing is left at `dest`.
    """
    src = Path(source)
    if src.is_symlink():
        raise IntakeError(f"{src}: the submission itself is a symlink")
    if not src.exists():
        raise IntakeError(f"{src}: no such file or folder")
    nb_rules = notebook or Notebook()
    dest.mkdir(parents=True, exist_ok=False)
    w = _Writer(dest, rules, exclude)
    try:
        if src.is_dir():
            kind = "folder"
            _from_folder(src, w)
        elif src.suffix.lower() == ".zip":
            kind = "zip"
            _from_zip(src, w)
        elif src.suffix.lower() == ".ipynb":
            if not rules.allow_notebook:
                raise IntakeError(f"{src.name}: this task does not accept notebook submissions")
            kind = "notebook"
            _from_notebook(src, w, nb_rules)
        else:
            raise IntakeError(
                f"{src.name}: unsupported submission type; expected a folder, .zip or .ipynb"
            )
        if kind != "notebook" and rules.allow_notebook and _single_notebook(dest, w, nb_rules):
            kind = "notebook"
        if kind != "notebook":
            _strip_single_top_folder(dest, w, rules)
        missing = [r for r in rules.required if r not in w.files and kind != "notebook"]
        if missing:
            raise IntakeError(f"missing required file(s): {', '.join(missing)}")
        if not w.files:
            raise IntakeError("empty submission: no files")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    for d in [dest, *(p for p in dest.rglob("*") if p.is_dir())]:
        d.chmod(0o755)
    ref = SubmissionRef(
        sha256=content_sha256(w.files), files=sorted(w.files), bytes=w.total, kind=kind
    )
    return Submission(root=dest, ref=ref)


def _strip_single_top_folder(dest: Path, w: _Writer, rules: SubmissionRules) -> None:
    """Accept `kit/probe.py` for `probe.py`: zips are often made of the enclosing folder."""
    if not rules.required or all(r in w.files for r in rules.required):
        return
    tops = {k.split("/", 1)[0] for k in w.files}
    if len(tops) != 1 or all("/" not in k for k in w.files):
        return
    top = tops.pop()
    inner = {k.split("/", 1)[1]: v for k, v in w.files.items()}
    if not all(r in inner for r in rules.required):
        return
    staging = dest / top
    moved = dest.parent / (dest.name + ".strip")
    staging.rename(moved)
    dest.rmdir()
    moved.rename(dest)
    w.files = inner
