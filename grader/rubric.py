"""`rubric.toml`: criteria that reviewers score by hand, with levels and anchors.

    [[criteria]]
    id = "evidence"                 # stable id, used in reports and exports
    name = "Evidence for the claim"
    max_score = 10
    description = "What a reviewer looks for."
    [[criteria.levels]]
    score = 0
    descriptor = "No evidence, or evidence that does not bear on the claim."
    anchors = ["A short example answer at this level."]
    [[criteria.levels]]
    score = 10
    descriptor = "..."

A report lists every criterion as a manual item, pending (score null) until a reviewer
scores it; the automatic and manual parts are totalled separately and together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import TaskSpecError
from grader.report import ManualItem
from grader.spec import format_validation_error, read_toml

RUBRIC_FILE = "rubric.toml"


class Level(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    score: Annotated[float, Field(ge=0)]
    descriptor: Annotated[str, Field(min_length=1, max_length=2000)]
    anchors: tuple[str, ...] = ()


class Criterion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    max_score: Annotated[float, Field(gt=0, le=1000)]
    description: str = ""
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
