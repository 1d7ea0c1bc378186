"""Helpers for a task's run phase (grading/run.py): ``import assess_run``.

The grader puts this file next to run.py in /grading for every run phase, so
``from assess_run import describe, write_json`` works there; on the host, put
``grader/harness`` on PYTHONPATH to run a run.py against temporary folders.

Everything here runs *with the submission's code*, in the same process: the submission can
replace these functions too. They make an honest run.py shorter and its outputs well-formed;
they are never a reason to trust what /output holds (check.py recomputes everything).
Standard library only: a task's image may lack numpy.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))

# Error texts go into the report (the applicant may see them): one line, bounded.
MAX_ERROR_CHARS = 300


def describe(exc: BaseException, limit: int = MAX_ERROR_CHARS) -> str:
    """``ValueError: message`` on one line, at most `limit` characters."""
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:limit]


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` atomically: a reader (or a run cut short) never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path | str, data: Any) -> None:
    """Strict JSON (no NaN or inf: use :func:`finite_or_none`), atomically.

    A bare name is a file in OUTPUT.
    """
    target = OUTPUT / path if isinstance(path, str) else path
    write_bytes(target, json.dumps(data, allow_nan=False).encode("utf-8"))


def finite_or_none(values: Any) -> list[float | None]:
    """Flatten numbers (a list, nested lists, or an array) to floats; NaN, inf and values
    that are not numbers become None (strict JSON has no NaN)."""
    if hasattr(values, "reshape"):  # numpy arrays and tensors, without importing numpy
        values = values.reshape(-1).tolist()
    out: list[float | None] = []
    for v in _flatten(values):
        try:
            f = float(v)
        except (TypeError, ValueError, OverflowError):
            out.append(None)
            continue
        out.append(f if math.isfinite(f) else None)
    return out


def _flatten(values: Any) -> Iterable[Any]:
    if isinstance(values, list | tuple):
        for v in values:
            yield from _flatten(v)
    else:
        yield values


def import_file(name: str, path: Path) -> ModuleType:
    """Import the Python file at `path` as module `name` (the submission's or the kit's).

    The module is registered in ``sys.modules`` first: dataclasses and pickling-free
    libraries look a class's module up there while the file runs.

    Raises:
        ImportError: the file is missing or not importable; whatever the file raises while
            it runs propagates (describe it for the report).
    """
    if not path.is_file():
        raise ImportError(f"{path.name} is missing")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def copy_capped(name: str, limit: int, *, src_dir: Path | None = None) -> bytes | None:
    """Copy SUBMISSION/name to OUTPUT/name, at most `limit` bytes; the bytes copied, or None
    when it is missing or not a regular file (a symlink is never followed). Says what it did
    on stderr/stdout, which the run log keeps."""
    src = (src_dir or SUBMISSION) / name
    if src.is_symlink() or not src.is_file():
        print(f"run.py: {name} is missing or not a regular file", file=sys.stderr)
        return None
    with src.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        print(f"run.py: {name} is larger than {limit} bytes; copied the first part",
              file=sys.stderr)  # fmt: skip
        data = data[:limit]
    write_bytes(OUTPUT / name, data)
    print(f"run.py: {name} copied ({len(data)} bytes)")
    return data
