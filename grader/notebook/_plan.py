"""How the run phase runs a notebook submission: command, mounts, environment, time limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.base import Mount
from grader.spec import TaskSpec

HARNESS_DIR = Path(__file__).resolve().parent.parent / "harness"
# The task's optional follow-up script: turns the exported answers into the outputs its
# check.py reads. Staged into the run phase's /grading next to run.py.
FOLLOW_UP = "run_notebook.py"


@dataclass(frozen=True)
class RunPlan:
    """What replaces the task's `run.command` for a notebook submission."""

    command: tuple[str, ...]
    mounts: tuple[Mount, ...]
    env: dict[str, str]
    wall_s: float


def run_plan(spec: TaskSpec, notebook_name: str, *, follow_up: bool) -> RunPlan:
    """The run phase for the notebook `/submission/<notebook_name>`.

    The driver (grader/harness/assess_notebook.py, mounted read-only at /assess) executes
    the notebook under ``[notebook]`` limits, then runs ``/grading/run_notebook.py`` if the
    task has one. The wall-clock limit is the notebook's total plus ``run_timeout_s``.
    """
    nb = spec.notebook
    then = ["python", f"/grading/{FOLLOW_UP}"] if follow_up else []
    env = {
        "ASSESS_NOTEBOOK": f"/submission/{notebook_name}",
        "ASSESS_ANSWERS": "/output/answers",
        "ASSESS_NB_CELL_TIMEOUT": str(nb.cell_timeout_s),
        "ASSESS_NB_TIMEOUT": str(nb.timeout_s),
        "ASSESS_NB_CELL_OUTPUT_BYTES": str(nb.cell_output_kb * 1024),
        "ASSESS_NB_OUTPUT_BYTES": str(nb.output_kb * 1024),
        "ASSESS_NB_THEN": json.dumps(then),
        "ASSESS_SUBMISSION_KIND": "notebook",
        "JUPYTER_RUNTIME_DIR": "/tmp/jupyter/runtime",
        "IPYTHONDIR": "/tmp/ipython",
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }
    return RunPlan(
        command=("python", "/assess/assess_notebook.py"),
        mounts=(Mount(HARNESS_DIR, "/assess"),),
        env=env,
        wall_s=float(nb.timeout_s + spec.resources.run_timeout_s),
    )
