"""assess: grades take-home research tasks in Docker, in two phases.

The one entry point the CLI, the service's workers and the tests share::

    import grader
    report = grader.grade("tasks/linear-probe", "tasks/linear-probe/solution")
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from grader.report import Report
    from grader.sandbox import Sandbox
    from grader.task import Task


def grade(
    task: Task | Path | str,
    submission: Path | str,
    *,
    sandbox: Sandbox | None = None,
    artifacts_dir: Path | None = None,
) -> Report:
    """Grade `submission` (a folder, .zip or .ipynb) against `task` and return its report.

    Prepares the task first if its generated files are missing or stale. Outcomes of the
    submission are report statuses, never exceptions.

    Raises:
        TaskSpecError: the task folder is malformed or its prepare step fails.
        EngineUnavailable: no container engine answers.
    """
    from grader.pipeline import grade as _grade
    from grader.prepare import prepare
    from grader.sandbox import docker_sandbox
    from grader.task import Task, load_task

    t = task if isinstance(task, Task) else load_task(task)
    sb = sandbox or docker_sandbox()
    prepare(t, sb)
    return _grade(t, submission, sandbox=sb, artifacts_dir=artifacts_dir)


def load_task(root: Path | str) -> Task:
    """Load and check a task folder (see :func:`grader.task.load_task`)."""
    from grader.task import load_task as _load

    return _load(root)


__all__ = ["__version__", "grade", "load_task"]
