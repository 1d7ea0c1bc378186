"""The notebook section of a reviewer's report, built from a grading's artifacts folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.notebook._format import EXECUTED, SUBMITTED
from grader.notebook._record import NotebookRecord, read_record
from grader.notebook._render import RenderedNotebook, render_notebook

_STOPPED = {
    "error": "execution stopped here: this cell raised",
    "cell-timeout": "execution stopped here: this cell ran past the per-cell time limit",
    "timeout": "execution stopped here: the notebook ran past its total time limit",
    "kernel-died": "execution stopped here: the kernel died",
}


@dataclass(frozen=True)
class NotebookView:
    """What the report template shows: the executed notebook, and the one submitted."""

    executed: RenderedNotebook
    submitted: RenderedNotebook | None
    record: NotebookRecord | None
    stopped_at: int | None  # index of the cell where execution stopped
    stopped_why: str


def notebook_view(artifacts: Path) -> NotebookView | None:
    """The notebook section for a grading whose outputs were copied to `artifacts`.

    None when the folder holds no notebook (a folder submission).
    """
    executed, submitted = artifacts / EXECUTED, artifacts / SUBMITTED
    if not executed.exists() and not submitted.exists():
        return None
    record = read_record(artifacts)
    cell = record.failed_cell if record else None
    return NotebookView(
        executed=render_notebook(executed),
        submitted=render_notebook(submitted) if submitted.is_file() else None,
        record=record,
        stopped_at=cell.index if cell else None,
        stopped_why=_STOPPED.get(record.outcome, "") if record else "",
    )
