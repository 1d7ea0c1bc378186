"""`rubric.toml`: criteria that reviewers score by hand, with levels and anchors.

    [[criteria]]
    id = "evidence"                 # stable id, used in reports and exports
    name = "Evidence for the claim"
    max_score = 10
    description = "What a reviewer looks for."
    files = ["writeup.md", "*.py"]  # optional: what the reviewer reads for it (globs)
    [[criteria.levels]]
    score = 0
    descriptor = "No evidence, or evidence that does not bear on the claim."
    anchors = ["A short example answer at this level."]
    [[criteria.levels]]
    score = 10
    descriptor = "..."

A report lists every criterion as a manual item, pending (score null) until a reviewer
scores it; the automatic and manual parts are totalled separately and together
(:func:`totals`). A criterion's weight in the manual part is its `max_score`; the manual part's
weight in the whole is ``1 - scoring.automatic_weight`` from task.toml.

`files` names the submission's files a criterion is judged on (paths relative to the
submission's root, ``*``/``?`` globs allowed): the review page opens them beside the form.

Anchors are short example answers at a level, so that reviewers calibrate on the same
examples (docs/authoring-research-taste.md says how to write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import TaskSpecError
from grader.report import ManualItem, Report
from grader.spec import format_validation_error, read_toml

RUBRIC_FILE = "rubric.toml"


class Level(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    score: Annotated[float, Field(ge=0)]
    descriptor: Annotated[str, Field(min_length=1, max_length=2000)]
    anchors: tuple[Annotated[str, Field(min_length=1, max_length=4000)], ...] = ()


class Criterion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    max_score: Annotated[float, Field(gt=0, le=1000)]
    description: str = ""
    files: tuple[Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^/\\]")], ...] = ()
    levels: Annotated[tuple[Level, ...], Field(min_length=2)]

    @model_validator(mode="after")
    def _levels_span_the_range(self) -> Criterion:
        scores = [lv.score for lv in self.levels]
        if scores != sorted(scores) or len(set(scores)) != len(scores):
            raise ValueError(f"criterion {self.id!r}: level scores must be strictly increasing")
        if scores[0] != 0 or scores[-1] != self.max_score:
            raise ValueError(
                f"criterion {self.id!r}: levels must run from 0 to max_score ({self.max_score:g})"
            )
        return self


class Rubric(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria: Annotated[tuple[Criterion, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("criterion ids must be unique")
        return self

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.criteria)

    def pending(self) -> list[ManualItem]:
        """Manual items for a new report: every criterion, not yet scored."""
        return [ManualItem(criterion=c.id, max_score=c.max_score) for c in self.criteria]


@dataclass(frozen=True)
class Totals:
    """A report's automatic and manual parts, separately and together.

    `combined` is a percentage: ``100 * (w * automatic / automatic_max + (1 - w) * manual /
    manual_max)`` with ``w = scoring.automatic_weight``; it is None while a manual item is
    pending or the automatic score is missing (a grading error). Without manual items it is
    the automatic percentage.
    """

    automatic: float | None
    automatic_max: float
    manual: float | None  # sum of the scored manual items; None when none is scored yet
    manual_max: float
    pending: int
    automatic_weight: float
    combined: float | None


def totals(report: Report, automatic_weight: float) -> Totals:
    """Total `report`'s automatic checks and manual (rubric) items; see :class:`Totals`."""
    manual_max = sum(m.max_score for m in report.manual)
    scored = [m.score for m in report.manual if m.score is not None]
    pending = len(report.manual) - len(scored)
    manual = sum(scored) if scored else None
    combined: float | None = None
    if report.score is not None and report.max_score > 0:
        auto_part = report.score / report.max_score
        if not report.manual or manual_max <= 0:
            combined = 100.0 * auto_part
        elif pending == 0 and manual is not None:
            w = automatic_weight
            combined = 100.0 * (w * auto_part + (1.0 - w) * manual / manual_max)
    return Totals(
        automatic=report.score,
        automatic_max=report.max_score,
        manual=manual,
        manual_max=manual_max,
        pending=pending,
        automatic_weight=automatic_weight,
        combined=None if combined is None else round(combined, 4),
    )


def load_rubric(task_root: Path) -> Rubric | None:
    """The task's rubric, or None when it has no rubric.toml.

    Raises:
        TaskSpecError: rubric.toml is malformed; the message names the file and field.
    """
    path = task_root / RUBRIC_FILE
    if not path.is_file():
        return None
    try:
        return Rubric.model_validate(read_toml(path))
    except ValidationError as e:
        raise TaskSpecError(format_validation_error(path, e)) from None
