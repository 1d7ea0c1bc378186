"""Tests of the image builder (grader/images/).

Unit tests need no engine. The `docker` test builds (or finds) the cpu image and runs it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader import images
from grader.errors import ImageError
from grader.images import (
    IMAGE_REFS,
    build,
    build_image,
    common,
    image_id,
    image_ref,
    input_digest,
    wheelhouse,
)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# ----------------------------------------------------------------------------- image_ref


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("base", "assess/base:bookworm"),
        ("cpu", "assess/cpu:latest"),
        ("gpu", "assess/gpu:latest"),
        ("python:3.11-slim", "python:3.11-slim"),
        ("example/thing", "example/thing"),
        ("registry.local:5000/a/b:1", "registry.local:5000/a/b:1"),
    ],
)
def test_image_ref(name: str, ref: str) -> None:
    assert image_ref(name) == ref


@pytest.mark.parametrize("name", ["cuda", "", "CPU"])
def test_image_ref_unknown(name: str) -> None:
    with pytest.raises(ImageError, match="unknown image"):
        image_ref(name)


def test_refs_are_the_documented_ones() -> None:
    assert IMAGE_REFS == {
        "base": "assess/base:bookworm",
        "cpu": "assess/cpu:latest",
        "gpu": "assess/gpu:latest",
    }


# ----------------------------------------------------------------------------- input digest


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """A copy of images/cpu under a temporary images folder."""
    root = tmp_path / "images"
    shutil.copytree(images.IMAGES_DIR / "cpu", root / "cpu")
    return root


def test_digest_is_stable(images_dir: Path) -> None:
    first = input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir)
    assert first == input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir)
    assert len(first) == 64


def test_digest_changes_with_the_dockerfile(images_dir: Path) -> None:
    before = input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir)
    dockerfile = images_dir / "cpu" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "ENV EXTRA=1\n")
    assert input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir) != before


def test_digest_changes_with_requirements_and_parent(images_dir: Path) -> None:
    before = input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir)
    assert input_digest("cpu", parent_id="sha256:bb", images_dir=images_dir) != before
    reqs = images_dir / "cpu" / "requirements.txt"
    reqs.write_text(reqs.read_text().replace("numpy==", "numpy<=").strip() + "\n")
    assert input_digest("cpu", parent_id="sha256:aa", images_dir=images_dir) != before


def test_digest_ignores_docs_and_hidden_files(images_dir: Path) -> None:
    before = input_digest("cpu", parent_id=None, images_dir=images_dir)
    (images_dir / "cpu" / "README.md").write_text("notes\n")
    (images_dir / "cpu" / ".notes").write_text("x\n")
    assert input_digest("cpu", parent_id=None, images_dir=images_dir) == before


def test_digest_of_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no image folder"):
        input_digest("cpu", images_dir=tmp_path)


def test_parents_come_first() -> None:
    assert build._with_parents(["cpu"]) == ["base", "cpu"]
    assert build._with_parents(["gpu", "cpu", "base"]) == ["base", "gpu", "cpu"]
    with pytest.raises(ImageError, match="unknown image"):
        build._with_parents(["nope"])


def test_requirements_pin_everything() -> None:
    """Top-level packages are pinned exactly; gpu differs from cpu only in torch."""

    def pins(name: str) -> dict[str, str]:
        text = (images.IMAGES_DIR / name / "requirements.txt").read_text()
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and ln[0] != "#"]
        out = {}
        for line in lines:
            pkg, _, version = line.partition("==")
            assert version, f"{name}: {line!r} is not pinned with =="
            out[pkg] = version.lstrip("=")
        return out

    cpu, gpu = pins("cpu"), pins("gpu")
    assert cpu.pop("torch") == "2.13.0+cpu"
    assert gpu.pop("torch") == "2.13.0"
    assert cpu == gpu
    assert {"transformers", "numpy", "safetensors", "nbclient", "ipykernel"} <= set(cpu)


# ----------------------------------------------------------------------------- wheelhouse


def test_cache_dir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSESS_CACHE_DIR", str(tmp_path))
    assert images.wheelhouse_dir("cpu") == tmp_path / "wheelhouse" / "cpu"
    monkeypatch.delenv("ASSESS_CACHE_DIR")
    assert images.wheelhouse_dir("cpu") == images.REPO_ROOT / ".assess" / "wheelhouse" / "cpu"


def test_fill_wheelhouse_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []

    def fake_pip(cmd: list[str], **_: Any) -> tuple[int, list[str]]:
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        (dest / "demo-1.0-py3-none-any.whl").write_bytes(b"wheel")
        return 0, ["Saved demo"]

    monkeypatch.setattr(wheelhouse, "stream_command", fake_pip)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("demo==1.0\n")
    dest = tmp_path / "wheels"

    images.fill_wheelhouse(dest, reqs)
    images.fill_wheelhouse(dest, reqs)
    assert len(calls) == 1
    assert (dest / "demo-1.0-py3-none-any.whl").is_file()
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "pip", "download"]
    assert "--only-binary=:all:" in cmd and "manylinux_2_28_x86_64" in cmd
    assert cmd[cmd.index("--python-version") + 1] == "3.11"

    reqs.write_text("demo==1.1\n")
    images.fill_wheelhouse(dest, reqs)
    assert len(calls) == 2


def test_fill_wheelhouse_failure_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(cmd: list[str], **_: Any) -> tuple[int, list[str]]:
        return 1, ["Collecting nothing==9", "ERROR: No matching distribution found for nothing==9"]

    monkeypatch.setattr(wheelhouse, "stream_command", failing_pip)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("nothing==9\n")
    with pytest.raises(ImageError) as info:
        images.fill_wheelhouse(tmp_path / "wheels", reqs)
    message = str(info.value)
    assert "\n" not in message and "No matching distribution found for nothing==9" in message
    assert not (tmp_path / "wheels").exists()
    assert not (tmp_path / "wheels.partial").exists()


# ----------------------------------------------------------------------------- build errors


class _FakeAPI:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.chunks = chunks

    def build(self, **_: Any) -> Iterator[dict[str, Any]]:
        yield from self.chunks


def test_build_error_names_step_and_output(tmp_path: Path) -> None:
    chunks: list[dict[str, Any]] = [
        {"stream": "Step 1/3 : FROM assess/base:bookworm\n"},
        {"stream": " ---> 1c68787e6d49\n"},
        {"stream": "Step 2/3 : RUN pip install -r /tmp/requirements.txt\n"},
        {"stream": "Looking in links: /wheels\n"},
        {"stream": "ERROR: No matching distribution found for torch==9.9\n"},
        {
            "error": "The command '/bin/sh -c pip install' returned a non-zero code: 1",
            "errorDetail": {"message": "The command returned a non-zero code: 1"},
        },
    ]
    lines: list[str] = []
    with (tmp_path / "ctx.tar").open("w+b") as context, pytest.raises(ImageError) as info:
        common.docker_build(
            _FakeAPI(chunks),
            context,
            ref="assess/cpu:latest",
            labels={},
            progress=lines.append,
            nocache=False,
            network_mode="none",
        )
    message = str(info.value)
    assert "\n" not in message
    assert "Step 2/3 : RUN pip install" in message
    assert "non-zero code: 1" in message
    assert "No matching distribution found for torch==9.9" in message
    assert "Looking in links: /wheels" in lines


# ----------------------------------------------------------------------------- real engine


def _engine_or_skip() -> None:
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=10)
        try:
            client.ping()
        finally:
            client.close()
    except (docker.errors.DockerException, OSError) as exc:
        reason = f"no Docker engine answers: {exc}"
        if IN_CI:
            pytest.fail(f"CI requires the Docker integration tests to run: {reason}")
        pytest.skip(reason)


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_build_cpu_is_cached_and_works() -> None:
    import docker

    _engine_or_skip()
    first = build_image("cpu")
    started = time.monotonic()
    second = build_image("cpu")
    elapsed = time.monotonic() - started
    assert second == first
    assert elapsed < 20, f"cached build took {elapsed:.1f} s"
    assert image_id("assess/cpu:latest") == first
    assert image_id("assess/none-such:never") is None

    client = docker.from_env(timeout=120)
    try:
        out = client.containers.run(
            "assess/cpu:latest",
            [
                "sh",
                "-c",
                "id -u; python -c 'import sys; print(sys.version_info[:2])'; "
                'python -c "import torch, transformers, numpy, safetensors, nbclient; '
                'print(torch.__version__)"',
            ],
            user="1000:1000",
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": "rw,exec,size=256m"},
            remove=True,
            stdout=True,
            stderr=False,
        )
    finally:
        client.close()
    lines = out.decode().split()
    assert lines[0] == "1000"
    assert "".join(lines[1:3]) == "(3,11)"
    assert lines[-1] == "2.13.0+cpu"
