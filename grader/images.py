"""Build the sandbox images from ``images/`` (``assess images build [base|cpu|gpu ...]``).

Three images, each built from a folder of ``images/``:

* ``base`` (``assess/base:bookworm``): Debian 12 with Python 3.11, venv, pip, CA certificates,
  tini and procps. Built from ``images/base/Dockerfile`` (``FROM debian:bookworm-slim``) when a
  container registry answers, else bootstrapped from Debian's packages by
  ``images/base/bootstrap.sh`` (debootstrap, then ``docker import``).
* ``cpu`` (``assess/cpu:latest``): ``base`` plus a venv at ``/opt/venv`` with the CPU build of
  torch and the packages of ``images/cpu/requirements.txt``, and the user ``sandbox`` (1000).
* ``gpu`` (``assess/gpu:latest``): the same with a CUDA build of torch; built only on request.

Python packages come from a wheelhouse that the host's pip fills (:func:`fill_wheelhouse`), so a
build needs no network inside it (the cpu/gpu builds run with ``network_mode="none"``).

Caching: every image carries the label ``assess.inputs=<digest>``, a digest of its folder's
files and of its parent image's id (:func:`input_digest`). When the image exists with the same
digest, :func:`build_image` returns its id at once.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import docker
import docker.errors

from grader.errors import ImageError

REPO_ROOT = Path(__file__).resolve().parent.parent
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

DIGEST_VERSION = "assess-image-inputs-v1"
"""Salt of :func:`input_digest`; bump it to invalidate every built image."""

BASE_PROBE_REF = "debian:bookworm-slim"
"""The image pulled to decide whether a registry answers (and the base Dockerfile's parent)."""

REGISTRY_TIMEOUT_S = 20.0
"""How long the registry probe may wait for the engine's next answer."""

BUILD_TIMEOUT_S = 3600.0
"""How long a build may go without output before the engine is deemed stuck."""

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


@dataclass(frozen=True)
class _Spec:
    """How one image is built.

    Attributes:
        parent: The name of the image this one is built from, if one of ours.
    """

    parent: str | None


_SPECS: dict[str, _Spec] = {
    "base": _Spec(parent=None),
    "cpu": _Spec(parent="base"),
    "gpu": _Spec(parent="base"),
}

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


def wheelhouse_dir(name: str) -> Path:
    """Return the default wheelhouse of an image: ``<cache_dir>/wheelhouse/<name>``."""
    return cache_dir() / "wheelhouse" / name


@contextlib.contextmanager
def _engine(timeout: float) -> Iterator[Any]:
    """Yield the low-level API client of the local engine, closing it afterwards.

    Args:
        timeout: Seconds to wait for each answer of the engine.

    Raises:
        ImageError: No Docker engine answers.
    """
    try:
        client = docker.from_env(timeout=timeout)
    except (docker.errors.DockerException, OSError) as exc:
        raise ImageError(
            f"no Docker engine answers ({_one_line(str(exc))}); start one with "
            "scripts/ensure-docker.sh"
        ) from exc
    try:
        try:
            client.ping()
        except (docker.errors.DockerException, OSError) as exc:
            raise ImageError(
                f"no Docker engine answers ({_one_line(str(exc))}); start one with "
                "scripts/ensure-docker.sh"
            ) from exc
        yield client.api
    finally:
        client.close()


def _inspect(api: Any, ref: str) -> dict[str, Any] | None:
    """Return the engine's description of an image, or None when it is absent."""
    try:
        info: dict[str, Any] = api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as exc:
        raise ImageError(f"cannot inspect image {ref}: {_one_line(str(exc))}") from exc
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
    with _engine(60.0) as api:
        info = _inspect(api, ref)
    return None if info is None else str(info["Id"])


def _labels(info: dict[str, Any] | None) -> dict[str, str]:
    """Return the labels of an inspected image (empty when absent)."""
    if info is None:
        return {}
    config = info.get("Config") or {}
    labels = config.get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def _image_files(folder: Path) -> list[Path]:
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


def input_digest(name: str, *, parent_id: str | None = None, images_dir: Path = IMAGES_DIR) -> str:
    """Return the digest of an image's inputs.

    The digest covers every file of ``images_dir/<name>/`` (names and contents; ``*.md`` and
    hidden files excluded: Dockerfile, requirements.txt, bootstrap.sh) and the parent image's
    id, so editing a file or rebuilding the parent changes it.

    Args:
        name: The image name (the folder under ``images_dir``).
        parent_id: The id of the image it is built from, if any.
        images_dir: The folder holding the image folders.

    Returns:
        A hex SHA-256 digest.

    Raises:
        ImageError: The image folder does not exist.
    """
    folder = images_dir / name
    if not folder.is_dir():
        raise ImageError(f"no image folder {folder}")
    h = hashlib.sha256()
    h.update(f"{DIGEST_VERSION}\0{name}\0{parent_id or ''}\0".encode())
    for path in _image_files(folder):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\0")
    return h.hexdigest()


def _one_line(text: str, limit: int = 400) -> str:
    """Collapse whitespace runs (newlines included) and cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _emit(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


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


def _stream_command(
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
            _emit(progress, line)
    return proc.returncode, lines


def _tail(lines: Sequence[str], count: int = 4) -> str:
    """Return the last meaningful output lines joined on one line."""
    kept = [
        line.strip()
        for line in lines
        if line.strip() and not (line.startswith("WARNING: Location") and "is ignored" in line)
    ]
    return " | ".join(kept[-count:])


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
            _emit(progress, f"wheelhouse {dest} is up to date")
            return

    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    cmd = [_host_python(), *_pip_download_args(requirements.resolve(), partial)]
    _emit(progress, f"filling wheelhouse {dest} from {requirements}")
    status, lines = _stream_command(cmd, progress=progress)
    if status != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ImageError(
            f"pip could not download the wheels for {requirements} (exit {status}): "
            + _one_line(_tail(lines))
        )
    (partial / STAMP_NAME).write_text(
        json.dumps({"key": key, "requirements": str(requirements)}, indent=1) + "\n"
    )
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)


@contextlib.contextmanager
def _build_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock on building ``name`` (other processes wait)."""
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tar_info(arcname: str, *, size: int = 0, directory: bool = False, mode: int = 0o644) -> Any:
    """Return a normalized tar header (owner root, mtime 0) so the layer cache is stable."""
    info = tarfile.TarInfo(arcname)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else mode
    return info


def _write_context(out: IO[bytes], folder: Path, wheelhouse: Path | None) -> None:
    """Write a build context tar: the image folder's files, plus ``wheelhouse/`` if given."""
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path in _image_files(folder):
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            with path.open("rb") as data:
                info = _tar_info(
                    path.relative_to(folder).as_posix(), size=path.stat().st_size, mode=mode
                )
                tar.addfile(info, data)
        if wheelhouse is not None:
            tar.addfile(_tar_info("wheelhouse", directory=True))
            for path in sorted(wheelhouse.glob("*.whl")):
                info = _tar_info(f"wheelhouse/{path.name}", size=path.stat().st_size)
                with path.open("rb") as data:
                    tar.addfile(info, data)
    out.flush()
    out.seek(0)


def _docker_build(
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
                    _one_line(f"building {ref} failed at {step}: {error}{last}", limit=1000)
                )
            text = chunk.get("stream") or chunk.get("status")
            if not text:
                continue
            for raw in str(text).splitlines():
                line = raw.rstrip()
                if not line.strip():
                    continue
                _emit(progress, line)
                if line.startswith("Step "):
                    step = _one_line(line, limit=160)
                    tail.clear()
                elif not line.startswith(" ---> "):
                    tail.append(_one_line(line, limit=200))
    except (docker.errors.DockerException, OSError) as exc:
        raise ImageError(_one_line(f"building {ref} failed at {step}: {exc}", limit=1000)) from exc


def registry_answers(*, progress: Progress | None = None) -> bool:
    """Return whether a container registry serves ``debian:bookworm-slim`` (pulling it).

    The pull gives up when the engine stays silent for :data:`REGISTRY_TIMEOUT_S` seconds.
    """
    repo, tag = BASE_PROBE_REF.split(":")
    try:
        with _engine(REGISTRY_TIMEOUT_S) as api:
            for chunk in api.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    _emit(progress, f"no registry: {_one_line(str(chunk['error']))}")
                    return False
            return _inspect(api, BASE_PROBE_REF) is not None
    except (ImageError, docker.errors.DockerException, OSError) as exc:
        _emit(progress, f"no registry: {_one_line(str(exc))}")
        return False


def _build_base(api: Any, ref: str, digest: str, *, progress: Progress | None, force: bool) -> None:
    """Build the base image from its Dockerfile where a registry answers, else bootstrap it."""
    folder = IMAGES_DIR / "base"
    labels = {INPUTS_LABEL: digest, NAME_LABEL: "base"}
    source = os.environ.get("ASSESS_BASE_SOURCE", "auto")
    use_registry = source == "registry" or (
        source == "auto"
        and (registry_answers(progress=progress) or _inspect(api, BASE_PROBE_REF) is not None)
    )
    if use_registry:
        _emit(progress, f"building {ref} from {BASE_PROBE_REF}")
        with tempfile.TemporaryFile() as context:
            _write_context(context, folder, None)
            _docker_build(
                api,
                context,
                ref=ref,
                labels=labels,
                progress=progress,
                nocache=force,
                network_mode=None,
            )
        return
    script = folder / "bootstrap.sh"
    _emit(progress, f"bootstrapping {ref} with {script.relative_to(REPO_ROOT)}")
    cmd = ["bash", str(script), *(["--force"] if force else []), ref]
    env = {**os.environ, "ASSESS_INPUTS": digest}
    status, lines = _stream_command(cmd, progress=progress, env=env)
    if status != 0:
        raise ImageError(
            f"bootstrapping {ref} failed (exit {status}): " + _one_line(_tail(lines, 3))
        )


def build_image(name: str, *, progress: Progress | None = None, force: bool = False) -> str:
    """Build one image (and its missing or stale parent first), unless it is up to date.

    An image is up to date when it exists and its ``assess.inputs`` label equals
    :func:`input_digest` of its folder and parent; then its id is returned at once.

    Args:
        name: ``base``, ``cpu`` or ``gpu``.
        progress: Called with each line of build output.
        force: Rebuild even when up to date (without the engine's layer cache). The parent
            is still only rebuilt when missing or stale.

    Returns:
        The image id (``sha256:...``).

    Raises:
        ImageError: Unknown name, no Docker engine, missing wheels or a failed build.
    """
    if name not in _SPECS:
        known = ", ".join(_SPECS)
        raise ImageError(f"unknown image {name!r}: can build {known}")
    spec = _SPECS[name]
    ref = image_ref(name)
    parent_id = None
    if spec.parent is not None:
        parent_id = build_image(spec.parent, progress=progress)
    digest = input_digest(name, parent_id=parent_id)

    with _build_lock(name), _engine(BUILD_TIMEOUT_S) as api:
        info = _inspect(api, ref)
        if not force and info is not None and _labels(info).get(INPUTS_LABEL) == digest:
            _emit(progress, f"{ref} is up to date ({str(info['Id'])[:19]})")
            return str(info["Id"])

        if name == "base":
            _build_base(api, ref, digest, progress=progress, force=force)
        else:
            folder = IMAGES_DIR / name
            wheelhouse = None
            requirements = folder / "requirements.txt"
            if requirements.is_file():
                wheelhouse = wheelhouse_dir(name)
                fill_wheelhouse(wheelhouse, requirements, progress=progress)
            cache_dir().mkdir(parents=True, exist_ok=True)
            _emit(progress, f"building {ref}")
            with tempfile.TemporaryFile(dir=cache_dir()) as context:
                _write_context(context, folder, wheelhouse)
                _docker_build(
                    api,
                    context,
                    ref=ref,
                    labels={INPUTS_LABEL: digest, NAME_LABEL: name},
                    progress=progress,
                    nocache=force,
                    network_mode="none",
                )

        built = _inspect(api, ref)
        if built is None or _labels(built).get(INPUTS_LABEL) != digest:
            raise ImageError(f"building {ref} finished but the engine has no such image")
        _emit(progress, f"built {ref} ({str(built['Id'])[:19]})")
        _prune_own_dangling(api)
        return str(built["Id"])


def _prune_own_dangling(api: Any) -> None:
    """Remove untagged images of ours: build stages and the versions a rebuild replaced.

    A cpu build stage is ~2 GB; without this every rebuild would leave one behind.
    Only images carrying our labels are touched.
    """
    for label in ("assess.stage", NAME_LABEL):
        with contextlib.suppress(docker.errors.APIError):
            api.prune_images(filters={"dangling": True, "label": label})


def _with_parents(names: Sequence[str]) -> list[str]:
    """Return ``names`` with their parents, parents first, each once."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name not in _SPECS:
            known = ", ".join(_SPECS)
            raise ImageError(f"unknown image {name!r}: can build {known}")
        parent = _SPECS[name].parent
        if parent is not None:
            visit(parent)
        if name not in order:
            order.append(name)

    for name in names:
        visit(name)
    return order


def build_images(
    names: Sequence[str], *, progress: Progress | None = None, force: bool = False
) -> dict[str, str]:
    """Build several images, parents first (``cpu`` and ``gpu`` need ``base``).

    Args:
        names: Image names (``base``, ``cpu``, ``gpu``); empty means ``base`` and ``cpu``.
        progress: Called with each line of build output.
        force: Rebuild the named images even when up to date; parents that were not named are
            only rebuilt when missing or stale.

    Returns:
        The id of every image built or found up to date, parents included, by name.

    Raises:
        ImageError: Unknown name, no Docker engine, missing wheels or a failed build.
    """
    wanted = list(names) or ["base", "cpu"]
    ids: dict[str, str] = {}
    for name in _with_parents(wanted):
        ids[name] = build_image(name, progress=progress, force=force and name in wanted)
    return ids
