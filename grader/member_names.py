"""The names a submission's files may have: one rule for intake, sandbox export and viewer.

A leaf module (it imports only the error type), so the sandbox can check the names it copies
out of a container without importing intake and everything intake imports.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from grader.errors import IntakeError

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
MAX_DEPTH = 32


def check_member_name(name: str) -> PurePosixPath:
    """Validate one relative path from a submission and return it normalised.

    Raises:
        IntakeError: absolute path, ``..``, control characters, or an absurd length.
    """
    if "\\" in name:
        raise IntakeError(f"rejected path {name!r}: backslashes are not allowed in names")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise IntakeError(f"rejected path {name!r}: absolute paths are not allowed")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise IntakeError(f"rejected path {name!r}: '..' is not allowed")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        raise IntakeError(f"rejected path {name!r}: empty name")
    if len(parts) > MAX_DEPTH:
        raise IntakeError(f"rejected path {name[:80]!r}...: nested deeper than {MAX_DEPTH} folders")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise IntakeError(f"rejected path {name[:80]!r}...: longer than {MAX_PATH_BYTES} bytes")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise IntakeError(f"rejected name {part[:80]!r}...: longer than {MAX_NAME_BYTES} bytes")
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in part):
            raise IntakeError(f"rejected name {part!r}: control or invisible characters")
    return PurePosixPath(*parts)
