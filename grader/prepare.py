"""The prepare step: a task's trusted build of its generated files (models, data).

`[prepare]` in task.toml names a command, the inputs that invalidate it and the outputs it
writes. It runs in the task's image with the task folder mounted read-write at /task, no
network, as the calling user (so generated files belong to whoever owns the checkout). A
stamp records the hash of the inputs; the step re-runs when they change or an output is
missing, and is skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable

from grader.errors import TaskSpecError
from grader.images import image_ref
from grader.sandbox import Limits, Mount, RunRequest, Sandbox
from grader.task import STAMP_FILE, Task, iter_files


def inputs_hash(task: Task) -> str:
    """sha256 over the prepare step's declared inputs and its command."""
    assert task.spec.prepare is not None
    h = hashlib.sha256(json.dumps(task.spec.prepare.command).encode())
    for rel in task.spec.prepare.inputs:
        p = task.root / rel
        files = iter_files(p) if p.is_dir() else [p] if p.is_file() else []
        for f in files:
            h.update(f.relative_to(task.root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def is_prepared(task: Task) -> bool:
    """Whether the outputs exist and were built from the current inputs."""
    prep = task.spec.prepare
    if prep is None:
        return True
    stamp = task.root / STAMP_FILE
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text()).get("inputs")
    except ValueError:
        return False
    return recorded == inputs_hash(task) and all((task.root / o).exists() for o in prep.outputs)


def prepare(
    task: Task,
    sandbox: Sandbox,
    *,
    force: bool = False,
    on_output: Callable[[str], None] | None = None,
) -> bool:
    """Run the task's prepare step if needed. Returns whether it ran. `on_output` receives
    the step's output lines as they come (the command line shows them as progress).

    Raises:
        TaskSpecError: the step failed or did not write its declared outputs.
    """
    prep = task.spec.prepare
    if prep is None or (not force and is_prepared(task)):
        return False
    result = sandbox.run(
        RunRequest(
            image=image_ref(task.spec.image),
            command=prep.command,
            limits=Limits(
                cpus=float(os.cpu_count() or 1),
                memory_mb=max(task.spec.resources.memory_mb, 4096),
                pids=512,
                wall_s=prep.timeout_s,
                tmp_mb=1024,
                log_bytes=64 * 1024,
                gpu=task.spec.resources.gpu,
            ),
            mounts=[Mount(task.root, "/task", read_only=False)],
            env={"PYTHONDONTWRITEBYTECODE": "1"},
            workdir="/task",
            user=f"{os.getuid()}:{os.getgid()}",
            label="prepare",
            on_output=on_output,
        )
    )
    if not result.ok:
        why = "timed out" if result.timed_out else f"exited with code {result.exit_code}"
        tail = result.log.strip().splitlines()[-1:] or ["(no output)"]
        raise TaskSpecError(f"{task.root}: prepare step {why}: {tail[0][:300]}")
    missing = [o for o in prep.outputs if not (task.root / o).exists()]
    if missing:
        raise TaskSpecError(
            f"{task.root}: prepare step did not write declared output(s): {', '.join(missing)}"
        )
    (task.root / STAMP_FILE).write_text(json.dumps({"inputs": inputs_hash(task)}) + "\n")
    task.__dict__.pop("digest", None)  # generated files changed: recompute on next use
    return True
