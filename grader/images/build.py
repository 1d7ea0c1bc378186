"""Image builds: parents first, cached by a digest of each image's inputs."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker.errors

from grader.errors import ImageError
from grader.images.base import build_base
from grader.images.common import (
    IMAGES_DIR,
    INPUTS_LABEL,
    NAME_LABEL,
    Progress,
    cache_dir,
    docker_build,
    emit,
    engine,
    image_files,
    image_ref,
    inspect_image,
    labels_of,
    write_context,
)
from grader.images.wheelhouse import fill_wheelhouse, wheelhouse_dir

DIGEST_VERSION = "assess-image-inputs-v1"
"""Salt of :func:`input_digest`; bump it to invalidate every built image."""


BUILD_TIMEOUT_S = 3600.0
"""How long a build may go without output before the engine is deemed stuck."""


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
    for path in image_files(folder):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\0")
    return h.hexdigest()


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

    with _build_lock(name), engine(BUILD_TIMEOUT_S) as api:
        info = inspect_image(api, ref)
        if not force and info is not None and labels_of(info).get(INPUTS_LABEL) == digest:
            emit(progress, f"{ref} is up to date ({str(info['Id'])[:19]})")
            return str(info["Id"])

        if name == "base":
            build_base(api, ref, digest, progress=progress, force=force)
        else:
            folder = IMAGES_DIR / name
            wheelhouse = None
            requirements = folder / "requirements.txt"
            if requirements.is_file():
                wheelhouse = wheelhouse_dir(name)
                fill_wheelhouse(wheelhouse, requirements, progress=progress)
            cache_dir().mkdir(parents=True, exist_ok=True)
            emit(progress, f"building {ref}")
            with tempfile.TemporaryFile(dir=cache_dir()) as context:
                write_context(context, folder, wheelhouse)
                docker_build(
                    api,
                    context,
                    ref=ref,
                    labels={INPUTS_LABEL: digest, NAME_LABEL: name},
                    progress=progress,
                    nocache=force,
                    network_mode="none",
                )

        built = inspect_image(api, ref)
        if built is None or labels_of(built).get(INPUTS_LABEL) != digest:
            raise ImageError(f"building {ref} finished but the engine has no such image")
        emit(progress, f"built {ref} ({str(built['Id'])[:19]})")
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
