"""Request and response bodies of the JSON API (Create / Update / Public families)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.accounts import EMAIL_PATTERN
from api.models import TIERS

USERNAME_PATTERN = r"^[a-zA-Z0-9_.-]{2,64}$"


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


LatePolicy = Literal["refuse", "flag"]
JudgeMode = Literal["off", "blind", "assist"]
# A task's time budget: 1 minute to 4 weeks, or None for untimed (due at the close).
Budget = Annotated[int, Field(ge=1, le=40320)] | None


class _CohortSettings(BaseModel):
    """Settings shared by creating and updating a cohort; None leaves a setting as it is."""

    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    grace_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    late_policy: LatePolicy | None = None
    regrade_days: Annotated[int, Field(ge=0, le=365)] | None = None
    judge_mode: JudgeMode | None = None
    # Task id -> minutes from Start to the deadline (None: untimed); tasks of the cohort only.
    time_budgets: dict[str, Budget] | None = None


class CohortIn(_CohortSettings):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    blind: bool = True
    weights: dict[str, Annotated[float, Field(ge=0)]] = {}
    tasks: list[str] = []


class CohortUpdate(_CohortSettings):
    """Only the fields sent change; ``clear_window`` empties opens_at and closes_at."""

    blind: bool | None = None
    weights: dict[str, Annotated[float, Field(ge=0)]] | None = None
    tasks: list[str] | None = None
    clear_window: bool = False


class CohortPublic(_Out):
    id: int
    name: str
    blind: bool
    weights: dict[str, float]
    tasks: list[str]
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    grace_minutes: int = 0
    late_policy: str = "refuse"
    regrade_days: int = 14
    judge_mode: str = "off"
    time_budgets: dict[str, int | None] = {}
    results_released_at: datetime | None = None


class InviteIn(BaseModel):
    cohort: str
    email: Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
    name: Annotated[str, Field(max_length=200)] = ""


class InvitePublic(BaseModel):
    applicant_id: int
    email: str
    link: str
    token: str
    expires_at: datetime


class ImportRowPublic(BaseModel):
    """One data row of an invitation CSV: ``ok``, or the reason it was not imported."""

    line: int
    email: str
    ok: bool
    reason: str


class ImportPublic(BaseModel):
    """The per-row verdicts of an invitation CSV and the invitations it created."""

    rows: list[ImportRowPublic]
    valid: int
    invalid: int
    imported: int
    invitations: list[InvitePublic]


class UserIn(BaseModel):
    """A new account; without a password one is generated and returned once."""

    username: Annotated[str, Field(pattern=USERNAME_PATTERN)]
    password: Annotated[str, Field(min_length=10, max_length=1000)] | None = None
    role: Annotated[str, Field(pattern=r"^(reviewer|operator|mentor)$")] = "reviewer"


class UserUpdate(BaseModel):
    """Only the fields sent change; ``reset_password`` sets a generated password."""

    active: bool | None = None
    role: Annotated[str, Field(pattern=r"^(reviewer|operator|mentor)$")] | None = None
    reset_password: bool = False


class UserPublic(_Out):
    id: int
    username: str
    role: str
    active: bool = True
    review_capacity: int | None = None
    created_at: datetime | None = None
    # Only in the answer that created or reset it: shown once, never stored in clear.
    password: str | None = None


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
