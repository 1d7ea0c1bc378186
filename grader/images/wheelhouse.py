"""The wheelhouse: the Python packages an image installs, downloaded by the host's pip.

A build needs no network inside it: pip on the host fills ``<cache>/wheelhouse/<image>``
for the images' Python (3.11, manylinux), and the build installs from it offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

from grader.errors import ImageError
from grader.images.common import Progress, cache_dir, emit, one_line, stream_command, tail

WHEELHOUSE_PYTHON = "3.11"
"""The Python version wheels are downloaded for (Debian bookworm's python3)."""


WHEELHOUSE_PLATFORMS: tuple[str, ...] = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "any",
)
"""Platform tags a wheel may carry: bookworm has glibc 2.36 (pip does not expand
``manylinux_2_X`` tags to older ones by itself, so every one is listed)."""


STAMP_NAME = ".assess-wheelhouse.json"
"""File in a wheelhouse recording what filled it."""


def wheelhouse_dir(name: str) -> Path:
    """Return the default wheelhouse of an image: ``<cache_dir>/wheelhouse/<name>``."""
    return cache_dir() / "wheelhouse" / name


def _host_python() -> str:
    """Return a Python with pip: this interpreter, else ``python3`` on PATH."""
    if importlib.util.find_spec("pip") is not None:
        return sys.executable
    found = shutil.which("python3")
    if found is None:
        raise ImageError("cannot fill a wheelhouse: no pip in this Python and no python3 on PATH")
    return found


def _pip_download_args(requirements: Path, dest: Path) -> list[str]:
    """Return the pip command line (after the interpreter) that fills a wheelhouse."""
    args = [
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--progress-bar=off",
        "--only-binary=:all:",
        "--python-version",
        WHEELHOUSE_PYTHON,
        "--implementation",
        "cp",
        "--abi",
        "cp" + WHEELHOUSE_PYTHON.replace(".", ""),
    ]
    for platform in WHEELHOUSE_PLATFORMS:
        args += ["--platform", platform]
    args += ["-r", str(requirements), "-d", str(dest)]
    return args


def _wheelhouse_key(requirements: Path) -> str:
    """Return what a wheelhouse's stamp records: the requirements and how pip was asked."""
    h = hashlib.sha256(requirements.read_bytes())
    h.update(json.dumps([WHEELHOUSE_PYTHON, WHEELHOUSE_PLATFORMS]).encode())
    return h.hexdigest()


def fill_wheelhouse(
    dest: Path,
    requirements: Path,
    *,
    progress: Progress | None = None,
) -> None:
    """Download the wheels that ``requirements`` needs, for the images' Python, into ``dest``.

    Runs the host's ``python -m pip download --only-binary=:all: --python-version 3.11
    --platform manylinux_2_36_x86_64 ... --platform any -r requirements -d dest`` (the host's
    pip configuration applies: indexes, find-links). Does nothing when the stamp file in
    ``dest`` records the same requirements and pip options. A refill replaces ``dest`` whole.

    Args:
        dest: The wheelhouse folder (created if missing).
        requirements: The requirements file to satisfy.
        progress: Called with each line of pip's output.

    Raises:
        ImageError: The requirements file is missing or pip failed.
    """
    if not requirements.is_file():
        raise ImageError(f"no requirements file {requirements}")
    key = _wheelhouse_key(requirements)
    stamp = dest / STAMP_NAME
    with contextlib.suppress(OSError, ValueError):
        recorded = json.loads(stamp.read_text()).get("key")
        if recorded == key and any(dest.glob("*.whl")):
            emit(progress, f"wheelhouse {dest} is up to date")
            return

    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    cmd = [_host_python(), *_pip_download_args(requirements.resolve(), partial)]
    emit(progress, f"filling wheelhouse {dest} from {requirements}")
    status, lines = stream_command(cmd, progress=progress)
    if status != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ImageError(
            f"pip could not download the wheels for {requirements} (exit {status}): "
            + one_line(tail(lines))
        )
    (partial / STAMP_NAME).write_text(
        json.dumps({"key": key, "requirements": str(requirements)}, indent=1) + "\n"
    )
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
