"""Request and response bodies of the JSON API (Create / Update / Public families)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.models import TIERS


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LoginIn(BaseModel):
    username: str
    password: str


class MePublic(_Out):
    kind: str  # reviewer | operator | applicant
    name: str
    csrf_token: str = ""


class TaskPublic(_Out):
    id: str
    title: str
    kind: str
    version: str
    max_score: float
    has_rubric: bool = False


class ApplicantTask(TaskPublic):
    kit_url: str
    upload_url: str


class ReceivedPublic(_Out):
    """What an applicant sees of their own submission."""

    id: int
    task_id: str
    filename: str
    size: int
    sha256: str
    received_at: datetime
    status: str
    checks: list[dict[str, Any]] = []
    receipt_url: str


class SubmissionRow(_Out):
    """One dashboard row (identity only where the viewer may see it)."""

    id: int
    applicant: str
    task_id: str
    status: str
    score: float | None
    max_score: float | None
    manual_frac: float | None
    task_score: float | None
    review_count: int
    tier: str | None
    integrity_flag: bool  # a reviewer's flag (shown once you may see the reviews)
    integrity_auto: bool = False  # the automatic integrity pass's flag (shown to everyone)
    disagreement: bool
    received_at: datetime
    counted: bool = True  # the applicant's last upload for the task: the one that counts
    superseded_by: int | None = None  # when not counted: the submission that counts instead


class Page(BaseModel):
    """One page of submissions; pass ``next_cursor`` as ``after`` (``prev_cursor`` as
    ``before``) for the neighbouring pages."""

    items: list[SubmissionRow]
    total: int
    page: int
    per_page: int
    pages: int = 1
    next_cursor: str | None = None
    prev_cursor: str | None = None


class ReviewIn(BaseModel):
    scores: dict[str, Annotated[float, Field(ge=0)]] = {}
    tier: str | None = None
    integrity_flag: bool = False
    integrity_note: Annotated[str, Field(max_length=4000)] = ""
    comment: Annotated[str, Field(max_length=20000)] = ""

    @field_validator("tier")
    @classmethod
    def _tier(cls, v: str | None) -> str | None:
        if v is not None and v not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}")
        return v


class ReviewPublic(_Out):
    reviewer: str
    scores: dict[str, float]
    total: float
    tier: str | None
    integrity_flag: bool
    integrity_note: str
    comment: str
    updated_at: datetime


class GradingPublic(_Out):
    id: int
    task_digest: str
    task_version: str
    status: str
    score: float | None
    max_score: float
    previous_id: int | None
    differences: list[dict[str, Any]]
    created_at: datetime


class SubmissionDetail(SubmissionRow):
    filename: str
    size: int
    sha256: str
    reviews: list[ReviewPublic]
    gradings: list[GradingPublic]
    composite: float | None
    composite_provisional: bool


class CohortIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    blind: bool = True
    weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    tasks: list[str] = []


class CohortUpdate(BaseModel):
    blind: bool | None = None
    weights: dict[str, Annotated[float, Field(ge=0)]] | None = None
    tasks: list[str] | None = None


class CohortPublic(_Out):
    id: int
    name: str
    blind: bool
    weights: dict[str, float]
    tasks: list[str]


class InviteIn(BaseModel):
    cohort: str
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
    name: Annotated[str, Field(max_length=200)] = ""


class InvitePublic(BaseModel):
    applicant_id: int
    email: str
    link: str
    token: str
    expires_at: datetime


class UserIn(BaseModel):
    username: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.-]{2,64}$")]
    password: Annotated[str, Field(min_length=10, max_length=1000)]
    role: Annotated[str, Field(pattern=r"^(reviewer|operator|mentor)$")] = "reviewer"


class UserPublic(_Out):
    id: int
    username: str
    role: str


class RankPublic(BaseModel):
    rank: int
    applicant: str
    composite: float
    provisional: bool
    integrity_flag: bool
    tasks: dict[str, float | None]


class AgreementPublic(BaseModel):
    task: str
    kappa: float | None
    pairs: int
    multi_reviewed: int
    adjudicate: list[int]


class RegradePublic(BaseModel):
    task: str
    digest: str
    queued: int


class LoginLockPublic(_Out):
    key: str  # user:NAME or addr:IP
    failures: int
    locked: bool
    last_failure_at: datetime
    blocked_until: datetime | None


class AuditPublic(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    submission_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]


class IntegrityPairPublic(BaseModel):
    """One flagged pair; submissions are named by number (``submission-12``) only."""

    a: str
    b: str
    kind: str  # code | prose
    score: float
    threshold: float
    method: str
    reference: bool  # b is an author's reference text, not a submission


class IntegrityPublic(BaseModel):
    task: str
    compared: int
    references: int
    code_method: str
    prose_method: str
    flagged_pairs: list[IntegrityPairPublic]
    skipped: list[str]


class SubmissionFilePublic(BaseModel):
    """One file of a stored submission, as its manifest lists it."""

    path: str
    size: int
    sha256: str
    kind: str  # notebook, markdown, code, csv, json, text, image, binary


class SubmissionFilesPublic(BaseModel):
    submission_id: int
    archive: str  # the download name of the original upload
    files: list[SubmissionFilePublic]
