"""GPU requests: a task with `resources.gpu = true` asks the engine for the device.

On a machine without an NVIDIA runtime the request is refused by the engine, which shows
that it was made; the grading then fails as an infrastructure error, never silently on CPU.
The CUDA check itself runs only where a GPU and the gpu image exist, and skips otherwise.
"""

from __future__ import annotations

import shutil

import pytest

from grader.errors import SandboxError
from grader.images import image_ref
from grader.sandbox import Limits, RunRequest, Sandbox

pytestmark = pytest.mark.docker


def _engine_has_gpu(sandbox: Sandbox) -> bool:
    info = sandbox.client.info()  # type: ignore[attr-defined]
    return "nvidia" in (info.get("Runtimes") or {}) and shutil.which("nvidia-smi") is not None


def test_gpu_request_reaches_the_engine(sandbox: Sandbox) -> None:
    if _engine_has_gpu(sandbox):
        pytest.skip("this engine has a GPU: the refusal path cannot be shown here")
    req = RunRequest(image=image_ref("cpu"), command=["true"], limits=Limits(gpu=True))
    with pytest.raises(SandboxError, match=r"device driver|gpu|GPU"):
        sandbox.run(req)


def test_no_gpu_device_without_request(sandbox: Sandbox) -> None:
    r = sandbox.run(
        RunRequest(
            image=image_ref("cpu"),
            command=["python", "-c", "import glob; print(glob.glob('/dev/nvidia*'))"],
        )
    )
    assert r.log.strip() == "[]"


@pytest.mark.gpu
def test_cuda_visible_in_gpu_image(sandbox: Sandbox) -> None:
    if not _engine_has_gpu(sandbox):
        pytest.skip("no NVIDIA GPU runtime on this engine (GPU checks run on a GPU machine)")
    try:
        sandbox.image_id(image_ref("gpu"))
    except SandboxError:
        pytest.skip("the gpu image is not built here (`assess images build gpu`)")
    r = sandbox.run(
        RunRequest(
            image=image_ref("gpu"),
            command=["python", "-c", "import torch; print(torch.cuda.is_available())"],
            limits=Limits(gpu=True, memory_mb=8192, wall_s=120),
        )
    )
    assert r.log.strip().endswith("True"), r.log
