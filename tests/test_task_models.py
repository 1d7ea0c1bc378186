"""Committed model weights are reproducible: each task that commits weights ships a
deterministic `grading/build/build.py --out DIR` that retrains them and measures the planted
behaviour into DIR/behaviour.json; rebuilding in the task image must reproduce the committed
grading/build/behaviour.json within its declared tolerances, under the pinned CPU numerics the
models are built with and under this CPU's native kernels (grader/numerics.py): a behaviour
that only holds for one set of kernels is not one a task can rest on."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.images import image_ref
from grader.numerics import SETTINGS, setting_env
from grader.sandbox import Limits, Mount, RunRequest, Sandbox, ScratchMount, budget
from grader.task import load_task
from tests.conftest import REPO

# CPU-seconds for one rebuild: the slowest (backdoor-trigger under the pinned numerics) needs
# about half of it on an idle core.
REBUILD_BUDGET_S = 480
BUILT = sorted(p.parents[2] for p in (REPO / "tasks").glob("*/grading/build/behaviour.json"))


def _rebuild(task_dir: Path, setting: str, sandbox: Sandbox, tmp_path: Path) -> dict[str, float]:
    """Rebuild one task's model under one numerics setting; its measured metrics."""
    task = load_task(task_dir)
    image = image_ref(task.spec.image)
    cpu_s, wall_s = budget(REBUILD_BUDGET_S, 1.0)
    with sandbox.scratch(64, image=image) as out:
        result = sandbox.run(
            RunRequest(
                image=image,
                command=["python", "grading/build/build.py", "--out", "/rebuild"],
                # A CPU budget: the rebuild is slowed, not failed, by a busy machine.
                limits=Limits(
                    cpus=1.0, memory_mb=4096, pids=256, cpu_s=cpu_s, wall_s=wall_s, tmp_mb=512
                ),
                mounts=[Mount(task_dir, "/task")],
                scratch=[ScratchMount(out, "/rebuild")],
                env={**setting_env(setting), "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
                workdir="/task",
                label=f"rebuild-{setting}",
            )
        )
        assert result.ok, f"{setting}: {result.log[-2000:]}"
        files = out.export(tmp_path / setting, max_bytes=64 << 20, max_files=100)
    assert "behaviour.json" in files, (setting, files)
    rebuilt = json.loads((tmp_path / setting / "behaviour.json").read_text())
    # Kept for docs/tasks.md's cross-CPU table (gitignored).
    keep = REPO / ".assess" / "test-artifacts" / "rebuild" / f"{task_dir.name}-{setting}.json"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text(json.dumps(rebuilt["metrics"], indent=1) + "\n")
    return dict(rebuilt["metrics"])


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("task_dir", BUILT, ids=[p.name for p in BUILT])
def test_rebuild_reproduces_committed_behaviour(
    task_dir: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    # Each setting rebuilds in its own one-core container; both at once, so the pair costs
    # the wall time of the slower one on a two-core machine.
    with ThreadPoolExecutor(max_workers=len(SETTINGS)) as pool:
        futures = {s: pool.submit(_rebuild, task_dir, s, sandbox, tmp_path) for s in SETTINGS}
        rebuilt = {s: f.result() for s, f in futures.items()}
    committed = json.loads((task_dir / "grading" / "build" / "behaviour.json").read_text())
    tolerance = committed.get("tolerance", {})
    off = [
        f"{name}: rebuilt {metrics[name]} under {setting} numerics, committed {want} ± {tol}"
        for setting, metrics in rebuilt.items()
        for name, want in committed["metrics"].items()
        if abs(float(metrics[name]) - float(want)) > (tol := float(tolerance.get(name, 0.0)))
    ]
    assert not off, off
