"""Notebook submissions: intake checks, the run-phase plan, the record, safe rendering.

A task that sets ``submission.allow_notebook`` accepts a Jupyter notebook (docs/notebooks.md).
Its run phase executes the notebook in the sandbox with nbclient
(``grader/harness/assess_notebook.py``), exporting the values of the cells tagged
``answer:NAME`` as data; the trusted check phase reads them like any other output.

* :func:`check_notebook` — intake: nbformat v4 schema, output size, required answer tags.
* :func:`run_plan` — the run phase's command, mounts and environment for a notebook.
* :func:`read_record` / :func:`summarize` / :func:`explain` — what the driver recorded, as
  the report's status, explanation and flags.
* :func:`render_notebook` — the executed notebook as sanitised HTML for the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.notebook._format import (
    ANSWERS_DIR,
    EXECUTED,
    RECORD,
    SUBMITTED,
    TAG_PREFIX,
    answer_tags,
    check_notebook,
)
from grader.notebook._plan import FOLLOW_UP, RunPlan, run_plan
from grader.notebook._record import (
    NotebookRecord,
    NotebookSummary,
    explain,
    read_record,
    summarize,
)

if TYPE_CHECKING:
    from grader.notebook._render import RenderedNotebook


def render_notebook(source: Any) -> RenderedNotebook:
    """Render a notebook as sanitised HTML cells (see :mod:`grader.notebook._render`)."""
    from grader.notebook._render import render_notebook as _render

    return _render(source)


__all__ = [
    "ANSWERS_DIR",
    "EXECUTED",
    "FOLLOW_UP",
    "RECORD",
    "SUBMITTED",
    "TAG_PREFIX",
    "NotebookRecord",
    "NotebookSummary",
    "RunPlan",
    "answer_tags",
    "check_notebook",
    "explain",
    "read_record",
    "render_notebook",
    "run_plan",
    "summarize",
]
