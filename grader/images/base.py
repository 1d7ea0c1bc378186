"""The base image: from Debian's registry image where a registry answers, else bootstrapped.

Without a registry, ``images/base/bootstrap.sh`` builds the root file system with
debootstrap from Debian's package mirrors and imports it (``docker import``).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import docker
import docker.errors

from grader.errors import ImageError
from grader.images.common import (
    IMAGES_DIR,
    INPUTS_LABEL,
    NAME_LABEL,
    REPO_ROOT,
    Progress,
    docker_build,
    emit,
    engine,
    inspect_image,
    one_line,
    stream_command,
    tail,
    write_context,
)

BASE_PROBE_REF = "debian:bookworm-slim"
"""The image pulled to decide whether a registry answers (and the base Dockerfile's parent)."""


REGISTRY_TIMEOUT_S = 20.0
"""How long the registry probe may wait for the engine's next answer."""


def registry_answers(*, progress: Progress | None = None) -> bool:
    """Return whether a container registry serves ``debian:bookworm-slim`` (pulling it).

    The pull gives up when the engine stays silent for :data:`REGISTRY_TIMEOUT_S` seconds.
    """
    repo, tag = BASE_PROBE_REF.split(":")
    try:
        with engine(REGISTRY_TIMEOUT_S) as api:
            for chunk in api.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    emit(progress, f"no registry: {one_line(str(chunk['error']))}")
                    return False
            return inspect_image(api, BASE_PROBE_REF) is not None
    except (ImageError, docker.errors.DockerException, OSError) as exc:
        emit(progress, f"no registry: {one_line(str(exc))}")
        return False


def build_base(api: Any, ref: str, digest: str, *, progress: Progress | None, force: bool) -> None:
    """Build the base image from its Dockerfile where a registry answers, else bootstrap it."""
    folder = IMAGES_DIR / "base"
    labels = {INPUTS_LABEL: digest, NAME_LABEL: "base"}
    source = os.environ.get("ASSESS_BASE_SOURCE", "auto")
    use_registry = source == "registry" or (
        source == "auto"
        and (registry_answers(progress=progress) or inspect_image(api, BASE_PROBE_REF) is not None)
    )
    if use_registry:
        emit(progress, f"building {ref} from {BASE_PROBE_REF}")
        with tempfile.TemporaryFile() as context:
            write_context(context, folder, None)
            docker_build(
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
    emit(progress, f"bootstrapping {ref} with {script.relative_to(REPO_ROOT)}")
    cmd = ["bash", str(script), *(["--force"] if force else []), ref]
    env = {**os.environ, "ASSESS_INPUTS": digest}
    status, lines = stream_command(cmd, progress=progress, env=env)
    if status != 0:
        raise ImageError(f"bootstrapping {ref} failed (exit {status}): " + one_line(tail(lines, 3)))
