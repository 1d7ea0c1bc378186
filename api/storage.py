"""Content-addressed storage for submissions: ``blobs/ab/abcdef….zip``.

A blob is written to a temporary file in the same folder, fsynced, renamed into place and
the folder fsynced, so after :meth:`BlobStore.put` returns the bytes are on disk under their
sha256 and a crash leaves either nothing or the whole file. Reads re-hash the file and
refuse a blob whose content no longer matches its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{64}$")
SUFFIXES = (".zip", ".ipynb")
_CHUNK = 1 << 20
_STALE_S = 24 * 3600


class StorageError(Exception):
    """A blob is missing or corrupt."""


class TooLarge(Exception):
    """An upload exceeded its byte limit while it was being received."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Submissions on disk, named by the sha256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, suffix: str) -> Path:
        if not _SHA.match(sha256) or suffix not in SUFFIXES:
            raise StorageError(f"not a blob name: {sha256!r}{suffix!r}")
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    def stage(self, chunks: Iterable[bytes], *, suffix: str, max_bytes: int) -> tuple[Path, str]:
        """Write `chunks` to a staging file (fsynced); return its path and sha256.

        The file's name starts with ``host~pid~``: who is writing it, so that a start-up
        can tell a file whose writer died (see :meth:`clean_staging`).

        Raises:
            TooLarge: more than `max_bytes` arrived (the staging file is removed).
        """
        staging = self.staging
        staging.mkdir(parents=True, exist_ok=True)
        prefix = f"{os.uname().nodename}~{os.getpid()}~"
        fd, tmp = tempfile.mkstemp(dir=staging, prefix=prefix, suffix=suffix)
        h, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"upload larger than {max_bytes} bytes")
                    h.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return Path(tmp), h.hexdigest()

    def commit(self, staged: Path, sha256: str, suffix: str) -> Path:
        """Move a staged file to its content address (durably); an existing copy wins."""
        dest = self.path(sha256, suffix)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            staged.unlink(missing_ok=True)
            return dest
        os.chmod(staged, 0o444)
        os.replace(staged, dest)
        _fsync_dir(dest.parent)
        return dest

    def open_verified(self, sha256: str, suffix: str) -> Path:
        """The blob's path after checking its bytes still hash to its name.

        Raises:
            StorageError: missing, or its content does not match its sha256.
        """
        path = self.path(sha256, suffix)
        if not path.is_file():
            raise StorageError(f"submission blob {sha256[:12]} is missing from {self.root}")
        h = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        if h.hexdigest() != sha256:
            raise StorageError(f"submission blob {sha256[:12]} is corrupt (checksum mismatch)")
        return path

    def discard(self, staged: Path) -> None:
        staged.unlink(missing_ok=True)

    def clean_staging(self) -> list[str]:
        """Remove staging files whose writer is gone (a process killed mid-upload); return
        their names. A file of a live process on this host, or of another host sharing the
        folder, is kept unless it is older than a day; one without a writer's name (written
        before names carried one) is removed."""
        removed: list[str] = []
        if not self.staging.is_dir():
            return removed
        host = os.uname().nodename
        for path in self.staging.iterdir():
            writer_host, _, rest = path.name.partition("~")
            pid, sep, _ = rest.partition("~")
            try:
                old = time.time() - path.lstat().st_mtime > _STALE_S
            except FileNotFoundError:
                continue
            named = bool(sep) and pid.isdigit()
            if named and not old and (writer_host != host or _alive(int(pid))):
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path.name)
        return removed
