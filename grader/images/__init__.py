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

Modules: ``common`` (the engine, image metadata, build contexts), ``wheelhouse`` (the
packages, downloaded by the host's pip), ``base`` (registry build or debootstrap), ``build``
(builds in order, cached).
"""

from grader.images.base import BASE_PROBE_REF, registry_answers
from grader.images.build import DIGEST_VERSION, build_image, build_images, input_digest
from grader.images.common import (
    IMAGE_REFS,
    IMAGES_DIR,
    INPUTS_LABEL,
    NAME_LABEL,
    REPO_ROOT,
    Progress,
    cache_dir,
    image_id,
    image_ref,
)
from grader.images.wheelhouse import STAMP_NAME, fill_wheelhouse, wheelhouse_dir

__all__ = [
    "BASE_PROBE_REF",
    "DIGEST_VERSION",
    "IMAGES_DIR",
    "IMAGE_REFS",
    "INPUTS_LABEL",
    "NAME_LABEL",
    "REPO_ROOT",
    "STAMP_NAME",
    "Progress",
    "build_image",
    "build_images",
    "cache_dir",
    "fill_wheelhouse",
    "image_id",
    "image_ref",
    "input_digest",
    "registry_answers",
    "wheelhouse_dir",
]
