"""Export a held scratch area straight from the host's mount of it, when this process can.

The engine's archive API (``get_archive``) tars the area in a helper process of the engine:
about 70 ms of CPU per grading on the development machine, a tenth of a bare container's
start. Where the engine is local and its volume's mount point is readable here (the grader
runs as root next to the engine, as in CI and on the service's workers), the same files are
read directly, with the same rules as the archive path: regular files only, links never
followed (every name is opened relative to its folder's descriptor with ``O_NOFOLLOW``),
FIFOs never waited on (``O_NONBLOCK``, then ``fstat``), names checked as intake checks them,
and the file, byte and entry limits counted while the data is read. Elsewhere (a remote or
rootless engine, a user in the docker group) the caller keeps the archive API.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from grader.errors import IntakeError, OutputsRejected, SandboxError
from grader.member_names import MAX_DEPTH, check_member_name
from grader.sandbox.base import Exported

_CHUNK = 1 << 16
# Folders, links and other non-files count too: an area of a million empty folders is not
# walked to its end (the archive path applies the same bound to its members).
ENTRIES_PER_FILE = 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def readable_mount(mountpoint: str | None) -> Path | None:
    """The area's host path if it is a mount this process can read, else None.

    A path that is not a mount point here is refused: under a rootless engine the tmpfs is
    mounted in the engine's own namespace and the host path is an empty folder, which would
    export nothing without a word."""
    if not mountpoint:
        return None
    path = Path(mountpoint)
    try:
        if not (path.is_dir() and os.path.ismount(path) and os.access(path, os.R_OK | os.X_OK)):
            return None
    except OSError:
        return None
    return path


def too_many(max_files: int, max_bytes: int) -> OutputsRejected:
    return OutputsRejected(f"outputs exceed the limit of {max_files} files / {max_bytes} bytes")


def export_mount(root: Path, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
    """Copy the regular files under `root` to `dest`, within the limits (see the module)."""
    dest.mkdir(parents=True, exist_ok=True)
    state = _Walk(dest, max_bytes, max_files)
    # Depth first, one open descriptor per level: a folder's files are copied when it is
    # opened, its subfolders are entered one at a time.
    stack: list[tuple[int, str, list[str]]] = []
    try:
        top = os.open(root, _DIR_FLAGS)
        stack.append((top, "", []))
        stack[-1] = (top, "", state.scan(top, ""))
        while stack:
            dir_fd, prefix, subdirs = stack[-1]
            if not subdirs:
                os.close(dir_fd)
                stack.pop()
                continue
            name = subdirs.pop()
            rel = f"{prefix}{name}"
            if rel.count("/") + 1 > MAX_DEPTH:
                state.unsafe += 1  # nested too deep to be a valid name: one count, not walked
                continue
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # swapped for a link or gone: never followed
            stack.append((sub, f"{rel}/", []))  # on the stack first: closed if scan raises
            stack[-1] = (sub, f"{rel}/", state.scan(sub, f"{rel}/"))
    except OSError as e:
        raise SandboxError(f"could not read the outputs: {e.strerror or e}") from None
    finally:
        for fd, _, _ in stack:
            os.close(fd)
    return Exported(state.written, unsafe_names=state.unsafe)


class _Walk:
    """The export's running counts and the copy of one folder's files."""

    def __init__(self, dest: Path, max_bytes: int, max_files: int) -> None:
        self.dest, self.max_bytes, self.max_files = dest, max_bytes, max_files
        self.max_entries = max(1, max_files) * ENTRIES_PER_FILE
        self.written: list[str] = []
        self.unsafe = self.total = self.entries = 0

    def scan(self, dir_fd: int, prefix: str) -> list[str]:
        """Copy the folder's regular files; return its subfolders' names (last first)."""
        with os.scandir(dir_fd) as it:
            names = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in it)
        subdirs = []
        for name, is_dir in names:
            self.entries += 1
            if self.entries > self.max_entries:
                raise too_many(self.max_files, self.max_bytes)
            if is_dir:
                subdirs.append(name)
            else:
                self._copy(dir_fd, name, f"{prefix}{name}")
        return subdirs[::-1]

    def _copy(self, dir_fd: int, name: str, rel_name: str) -> None:
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
        except OSError:
            return  # a link (ELOOP), a socket (ENXIO), or gone
        with os.fdopen(fd, "rb") as src:
            st = os.fstat(src.fileno())
            if not stat.S_ISREG(st.st_mode):
                return  # a FIFO or a device: never read
            try:
                rel = check_member_name(rel_name)
            except IntakeError:
                self.unsafe += 1  # counted for the report, never written
                return
            if len(self.written) >= self.max_files or self.total + st.st_size > self.max_bytes:
                raise too_many(self.max_files, self.max_bytes)
            target = self.dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                # Counted as read, not as stat'ed: a frozen area does not grow, but one that
                # could not be frozen might.
                while chunk := src.read(_CHUNK):
                    self.total += len(chunk)
                    if self.total > self.max_bytes:
                        raise too_many(self.max_files, self.max_bytes)
                    out.write(chunk)
            self.written.append(rel.as_posix())
