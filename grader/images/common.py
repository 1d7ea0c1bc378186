"""What every image build needs: the engine, image metadata, output lines, build contexts."""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors

from grader.engine_client import tuned
from grader.errors import ImageError

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (holds ``images/``)."""


IMAGES_DIR = REPO_ROOT / "images"
"""One folder per image: ``images/<name>/``."""


IMAGE_REFS: dict[str, str] = {
    "base": "assess/base:bookworm",
    "cpu": "assess/cpu:latest",
    "gpu": "assess/gpu:latest",
}
"""The image names known to the builder and their references."""


INPUTS_LABEL = "assess.inputs"
"""Label holding the digest of an image's inputs."""


NAME_LABEL = "assess.image"
"""Label holding the image's name (a key of :data:`IMAGE_REFS`)."""


Progress = Callable[[str], None]


def image_ref(name: str) -> str:
    """Return the image reference for an image name.

    Args:
        name: A key of :data:`IMAGE_REFS` (``base``, ``cpu``, ``gpu``), or a reference
            (anything containing ``:`` or ``/``), which is returned unchanged.

    Returns:
        The image reference, e.g. ``assess/cpu:latest``.

    Raises:
        ImageError: ``name`` is neither a known image nor a reference.
    """
    if name in IMAGE_REFS:
        return IMAGE_REFS[name]
    if ":" in name or "/" in name:
        return name
    known = ", ".join(IMAGE_REFS)
    raise ImageError(f"unknown image {name!r}: use one of {known} or a reference like repo:tag")


def cache_dir() -> Path:
    """Return the builder's cache folder: ``$ASSESS_CACHE_DIR`` or ``<repo>/.assess``."""
    env = os.environ.get("ASSESS_CACHE_DIR")
    return Path(env).expanduser().resolve() if env else REPO_ROOT / ".assess"


@contextlib.contextmanager
def engine(timeout: float) -> Iterator[Any]:
    """Yield the low-level API client of the local engine, closing it afterwards.

    Args:
        timeout: Seconds to wait for each answer of the engine.

    Raises:
        ImageError: No Docker engine answers.
    """
    try:
        client = tuned(docker.from_env(timeout=timeout))
    except (docker.errors.DockerException, OSError) as exc:
        raise ImageError(
            f"no Docker engine answers ({one_line(str(exc))}); start one with "
            "scripts/ensure-docker.sh"
        ) from exc
    try:
        try:
            client.ping()
        except (docker.errors.DockerException, OSError) as exc:
            raise ImageError(
                f"no Docker engine answers ({one_line(str(exc))}); start one with "
                "scripts/ensure-docker.sh"
            ) from exc
        yield client.api
    finally:
        client.close()


def inspect_image(api: Any, ref: str) -> dict[str, Any] | None:
    """Return the engine's description of an image, or None when it is absent."""
    try:
        info: dict[str, Any] = api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise ImageError(f"cannot inspect image {ref}: {one_line(str(exc))}") from exc
    return info


def image_id(ref: str) -> str | None:
    """Return the id of a local image.

    Args:
        ref: An image reference (or id).

    Returns:
        The image id (``sha256:...``), or None when the engine has no such image.

    Raises:
        ImageError: No Docker engine answers.
    """
    with engine(60.0) as api:
        info = inspect_image(api, ref)
    return None if info is None else str(info["Id"])


def labels_of(info: dict[str, Any] | None) -> dict[str, str]:
    """Return the labels of an inspected image (empty when absent)."""
    if info is None:
        return {}
    config = info.get("Config") or {}
    labels = config.get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def image_files(folder: Path) -> list[Path]:
    """Return the files of an image folder that go into its digest and build context."""
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or path.suffix == ".md":
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        files.append(path)
    return files


def one_line(text: str, limit: int = 400) -> str:
    """Collapse whitespace runs (newlines included) and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def emit(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def stream_command(
    cmd: list[str], *, progress: Progress | None, env: dict[str, str] | None = None
) -> tuple[int, list[str]]:
    """Run a command, passing its output lines to ``progress``.

    Returns:
        The exit status and every output line (stdout and stderr together).
    """
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=env,
        )
    except OSError as exc:
        raise ImageError(f"cannot run {cmd[0]}: {exc}") from exc
    assert proc.stdout is not None
    with proc:
        for raw in proc.stdout:
            line = raw.rstrip()
            lines.append(line)
            emit(progress, line)
    return proc.returncode, lines


def tail(lines: Sequence[str], count: int = 4) -> str:
    """Return the last meaningful output lines joined on one line."""
    kept = [
        line.strip()
        for line in lines
        if line.strip() and not (line.startswith("WARNING: Location") and "is ignored" in line)
    ]
    return " | ".join(kept[-count:])


def tar_info(arcname: str, *, size: int = 0, directory: bool = False, mode: int = 0o644) -> Any:
    """Return a normalized tar header (owner root, mtime 0) so the layer cache is stable."""
    info = tarfile.TarInfo(arcname)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else mode
    return info


def write_context(out: IO[bytes], folder: Path, wheelhouse: Path | None) -> None:
    """Write a build context tar: the image folder's files, plus ``wheelhouse/`` if given."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path in image_files(folder):
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            with path.open("rb") as data:
                info = tar_info(
                    path.relative_to(folder).as_posix(), size=path.stat().st_size, mode=mode
                )
                tar.addfile(info, data)
        if wheelhouse is not None:
            tar.addfile(tar_info("wheelhouse", directory=True))
            for path in sorted(wheelhouse.glob("*.whl")):
                info = tar_info(f"wheelhouse/{path.name}", size=path.stat().st_size)
                with path.open("rb") as data:
                    tar.addfile(info, data)
    out.flush()
    out.seek(0)


def docker_build(
    api: Any,
    context: IO[bytes],
    *,
    ref: str,
    labels: dict[str, str],
    progress: Progress | None,
    nocache: bool,
    network_mode: str | None,
) -> None:
    """Run a classic-builder build from a context tar, streaming its output lines.

    Raises:
        ImageError: The build failed; the message names the failing step and its last output.
    """
    step = "the start"
    tail: collections.deque[str] = collections.deque(maxlen=4)
    kwargs: dict[str, Any] = {
        "fileobj": context,
        "custom_context": True,
        "tag": ref,
        "labels": labels,
        "rm": True,
        "forcerm": True,
        "pull": False,
        "nocache": nocache,
        "decode": True,
    }
    if network_mode is not None:
        kwargs["network_mode"] = network_mode
    try:
        for chunk in api.build(**kwargs):
            if "error" in chunk:
                detail = chunk.get("errorDetail") or {}
                error = str(detail.get("message") or chunk["error"])
                last = f"; last output: {' | '.join(tail)}" if tail else ""
                raise ImageError(
                    one_line(f"building {ref} failed at {step}: {error}{last}", limit=1000)
                )
            text = chunk.get("stream") or chunk.get("status")
            if not text:
                continue
            for raw in str(text).splitlines():
                line = raw.rstrip()
                if not line.strip():
                    continue
                emit(progress, line)
                if line.startswith("Step "):
                    step = one_line(line, limit=160)
                    tail.clear()
                elif not line.startswith(" ---> "):
                    tail.append(one_line(line, limit=200))
    except (docker.errors.DockerException, OSError) as exc:
        raise ImageError(one_line(f"building {ref} failed at {step}: {exc}", limit=1000)) from exc
