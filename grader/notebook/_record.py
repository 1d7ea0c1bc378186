"""What the notebook driver recorded, read back on the host as untrusted data.

The driver runs in the sandbox next to the kernel (the submission), so its record can be
forged. It is used only to *explain* (the report's explanation and flags), never to score,
and it is validated and bounded like any other output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.notebook._format import RECORD
from grader.report import Flag, Status
from grader.spec import TaskSpec

MAX_RECORD_BYTES = 256 * 1024
_Text = Annotated[str, Field(max_length=4000)]

Outcome = Literal[
    "completed",
    "error",
    "cell-timeout",
    "timeout",
    "kernel-died",
    "kernel-failed",
    "unreadable",
    "not-run",
]


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class FailedCell(_Loose):
    index: Annotated[int, Field(ge=0, le=1_000_000)]
    execution_count: Annotated[int, Field(ge=0)] | None = None
    tags: list[Annotated[str, Field(max_length=200)]] = []
    first_line: _Text = ""
    ename: _Text = ""
    evalue: _Text = ""


class AnswerRecord(_Loose):
    cell: Annotated[int, Field(ge=0, le=1_000_000)]
    error: _Text = ""


class NotebookRecord(_Loose):
    """The driver's record.json (see grader/harness/assess_notebook.py)."""

    notebook: _Text = ""
    outcome: Outcome
    failed_cell: FailedCell | None = None
    answers: dict[Annotated[str, Field(max_length=64)], AnswerRecord] = {}
    executed: Annotated[int, Field(ge=0)] = 0
    cells: Annotated[int, Field(ge=0)] = 0
    code_cells: Annotated[int, Field(ge=0)] = 0
    dropped_output_bytes: Annotated[int, Field(ge=0)] = 0
    bad_tags: list[Annotated[str, Field(max_length=200)]] = []
    detail: _Text = ""
    seconds: Annotated[float, Field(ge=0)] = 0.0


def read_record(output: Path) -> NotebookRecord | None:
    """The record in a run phase's output folder; None if missing, too big or malformed."""
    path = output / RECORD
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
        return None
    try:
        return NotebookRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, RecursionError, ValidationError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class NotebookSummary:
    """How a notebook run went, in words for the report."""

    note: str  # one sentence for the explanation; "" when it ran cleanly
    flags: list[Flag]
    timed_out: bool


def _cell_name(cell: FailedCell) -> str:
    count = f"In [{cell.execution_count}]" if cell.execution_count else "not numbered"
    tags = [t for t in cell.tags if t.startswith("answer:")]
    tagged = f", tagged {', '.join(tags)}" if tags else ""
    first = f": `{cell.first_line}`" if cell.first_line else ""
    return f"cell {cell.index + 1} ({count}{tagged}){first}"


def summarize(
    record: NotebookRecord | None, *, cell_timeout_s: int, timeout_s: int
) -> NotebookSummary:
    """Turn the record into an explanation and flags: which cell failed and why."""
    if record is None:
        return NotebookSummary(
            "the notebook driver left no readable record (see the run log)",
            [Flag(kind="notebook", detail="no record of the notebook's execution")],
            False,
        )
    flags: list[Flag] = []
    cell = record.failed_cell
    where = _cell_name(cell) if cell else "a cell"
    note = ""
    timed_out = False
    match record.outcome:
        case "completed":
            pass
        case "error":
            why = f"{cell.ename}: {cell.evalue}".strip(": ") if cell else "an error"
            note = f"the notebook stopped at {where}, which raised {why}"
        case "cell-timeout":
            note = (
                f"{where} ran past the per-cell limit of {cell_timeout_s} s; the kernel was stopped"
            )
            timed_out = True
        case "timeout":
            note = (
                f"the notebook ran past its total limit of {timeout_s} s at {where}; "
                "the kernel was stopped"
            )
            timed_out = True
        case "kernel-died":
            note = f"the kernel died while running {where} (out of memory, or it exited)"
        case "kernel-failed":
            note = "the kernel could not be started: " + (record.detail or "see the run log")
        case "unreadable" | "not-run":
            note = "the notebook could not be run: " + (record.detail or "see the run log")
    if note:
        flags.append(Flag(kind="notebook", detail=note[0].upper() + note[1:] + "."))
    for name, answer in sorted(record.answers.items()):
        if answer.error:
            flags.append(
                Flag(
                    kind="notebook-answer",
                    detail=f"answer:{name} (cell {answer.cell + 1}) was not exported: "
                    f"{answer.error}",
                )
            )
    if record.bad_tags:
        flags.append(
            Flag(
                kind="notebook-answer",
                detail="tags that look like answers but are not valid names: "
                + ", ".join(record.bad_tags[:10]),
            )
        )
    if record.dropped_output_bytes:
        flags.append(
            Flag(
                kind="notebook-output",
                detail=f"{record.dropped_output_bytes} bytes of cell output were dropped "
                "by the grader's output limit (marked in the cells)",
            )
        )
    return NotebookSummary(note, flags, timed_out)


def explain(
    spec: TaskSpec, output: Path, status: Status, explanation: str, *, clean: bool
) -> tuple[Status, str, list[Flag]]:
    """Fold the notebook's record into a grading's status, explanation and flags.

    A cell that ran past its limit makes the grading a ``timeout`` (scored on what the
    notebook had produced); a cell that raised keeps it ``graded`` and says which and why.
    Task errors and invalid outputs are left as they are. `clean` says that `explanation`
    is the pipeline's "nothing went wrong", which the notebook's story then replaces.
    """
    summary = summarize(
        read_record(output),
        cell_timeout_s=spec.notebook.cell_timeout_s,
        timeout_s=spec.notebook.timeout_s,
    )
    if status in (Status.error, Status.invalid) or not summary.note:
        return status, explanation, summary.flags
    if summary.timed_out:
        status = Status.timeout
    tail = "scored on what the notebook had produced by then"
    if not clean and explanation and status != Status.timeout:
        tail = explanation  # e.g. run_notebook.py's exit code: say that too
    return status, f"{summary.note}; {tail}", summary.flags
