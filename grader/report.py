"""The report: the one record of a grading, as stable, versioned JSON.

Keys are a contract (docs/report-schema.md); add fields only with a schema bump.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.spec import Visibility

SCHEMA = "assess.report/1"


class Status(StrEnum):
    """How a grading ended. Every one is an outcome, not a crash of the grader."""

    graded = "graded"  # checks ran; the score stands (the submission may still have crashed)
    invalid = "invalid"  # rejected at intake, or its outputs broke the task's contract
    error = "error"  # infrastructure or task failure: not the applicant's fault, re-grade
    timeout = "timeout"  # the run phase hit its wall-clock limit; scored on what it left


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRef(_Model):
    id: str
    version: str
    digest: str
    title: str = ""


class SubmissionRef(_Model):
    sha256: str
    files: list[str]
    bytes: int = 0
    kind: str = "folder"  # folder | zip | notebook


class Check(_Model):
    """One scored check emitted by a task's trusted check phase."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    score: Annotated[float, Field(ge=0)]
    max_score: Annotated[float, Field(gt=0)]
    visibility: Visibility = Visibility.reviewer
    feedback: Annotated[str, Field(max_length=4000)] = ""

    @model_validator(mode="after")
    def _in_range(self) -> Check:
        if self.score > self.max_score:
            raise ValueError(f"check {self.id!r}: score {self.score} exceeds max {self.max_score}")
        return self


class ManualItem(_Model):
    criterion: str
    max_score: float
    score: float | None = None
    reviewer: str | None = None


class Flag(_Model):
    kind: str
    detail: str


class Timings(_Model):
    queued: float = 0.0
    run: float = 0.0
    check: float = 0.0
    total: float = 0.0


class Resources(_Model):
    peak_memory: int | None = None  # bytes, run phase
    cpu_seconds: float | None = None  # run phase


class Logs(_Model):
    run: str = ""
    check: str = ""
    run_truncated: bool = False
    check_truncated: bool = False


class Artifact(_Model):
    path: str
    bytes: int
    sha256: str


class Provenance(_Model):
    image: str
    image_id: str
    grader_version: str
    sandbox: str
    started_at: str


class Report(_Model):
    """A grading's outcome. `score` is None only when no check could run."""

    schema_: Annotated[str, Field(alias="schema")] = SCHEMA
    task: TaskRef
    submission: SubmissionRef
    status: Status
    explanation: str = ""
    score: float | None
    max_score: float
    checks: list[Check] = []
    manual: list[ManualItem] = []
    flags: list[Flag] = []
    timings: Timings = Timings()
    resources: Resources = Resources()
    logs: Logs = Logs()
    artifacts: list[Artifact] = []
    provenance: Provenance | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> str:
        """Serialise with the contract's key names (`schema`, not `schema_`)."""
        return self.model_dump_json(by_alias=True, indent=2)

    def applicant_checks(self) -> list[Check]:
        """Checks an applicant may see."""
        return [c for c in self.checks if c.visibility == Visibility.applicant]
