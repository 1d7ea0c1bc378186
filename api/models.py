"""The database tables (SQLAlchemy 2). The schema itself lives in Alembic migrations.

Dashboard columns (status, scores, review counts, tier, flags) are kept on ``submissions``
and indexed, so that filtering and sorting 10,000 submissions is one indexed query; they are
updated in the same transaction as the grading or review they summarise.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

TIERS = ("Below", "Near", "Meets", "Exceeds")  # ordinal: index is the level


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class TaskRow(Base):
    """A task the service grades, loaded from its folder."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    root: Mapped[str] = mapped_column(Text)
    gpu: Mapped[bool] = mapped_column(Boolean, default=False)
    max_score: Mapped[float] = mapped_column(Float)
    automatic_weight: Mapped[float] = mapped_column(Float, default=1.0)
    # Rubric criteria as plain data for the form: [{id, name, max_score, levels: [...]}].
    rubric: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def rubric_max(self) -> float:
        return float(sum(c["max_score"] for c in self.rubric.get("criteria", [])))


class Cohort(Base):
    """A round of applicants with its tasks, its composite weights and its review mode."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    # Composite weights by task kind, e.g. {"research-taste": 0.5, "implementation": 0.35}.
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tasks: Mapped[list[CohortTask]] = relationship(cascade="all, delete-orphan")


class CohortTask(Base):
    __tablename__ = "cohort_tasks"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)


class Applicant(Base):
    """Someone invited to a cohort. Their invitation token is their credential."""

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("cohort_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime]
    # Raised whenever the invitation is re-issued or revoked; a session is valid only for
    # the generation it was opened with, so those end every session of the old link.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship()


class User(Base):
    """A reviewer or an operator (an operator can also review)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="reviewer")  # reviewer | operator
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # How many submissions this reviewer takes in one assignment round (None: no cap).
    review_capacity: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser: a reviewer's or an applicant's. Only the id's hash is stored."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicants.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    # An applicant's session: the invitation generation it was opened with.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class Submission(Base):
    """One upload by one applicant for one task, stored content-addressed (``blob_sha256``)."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("applicant_id", "task_id", "blob_sha256", name="uq_submission_upload"),
        Index("ix_submissions_task_status", "task_id", "status"),
        Index("ix_submissions_task_score", "task_id", "task_score"),
        Index("ix_submissions_received", "received_at"),
        Index("ix_submissions_score", "task_score"),
        Index("ix_submissions_status", "status"),
        Index("ix_submissions_reviews", "review_count"),
        Index("ix_submissions_cohort", "cohort_id"),
        Index("ix_submissions_counted", "counted", "received_at", "id"),
        Index("ix_submissions_applicant_task", "applicant_id", "task_id"),
        # The dashboard lists counted submissions by default, in (sort value, id) order:
        # one index per sortable column walks that order for the keyset pages.
        Index("ix_submissions_counted_id", "counted", "id"),
        Index("ix_submissions_counted_score", "counted", "task_score", "id"),
        Index("ix_submissions_counted_status", "counted", "status", "id"),
        Index("ix_submissions_counted_reviews", "counted", "review_count", "id"),
        Index("ix_submissions_counted_task", "counted", "task_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"))
    blob_sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))  # the grader's submission identity
    files: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Summary of the current grading and reviews (indexed for the dashboard).
    status: Mapped[str] = mapped_column(String(16), default="queued")
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float | None] = mapped_column(Float)
    manual_frac: Mapped[float | None] = mapped_column(Float)
    task_score: Mapped[float | None] = mapped_column(Float)  # 0..1, automatic + manual
    review_count: Mapped[int] = mapped_column(Integer, default=0)
    tier: Mapped[str | None] = mapped_column(String(16))
    integrity_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # a reviewer's
    # The automatic integrity pass flagged the current report (a close pair): the machine's
    # finding, not a reviewer's judgement, so it is shown to every reviewer.
    integrity_auto: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    disagreement: Mapped[bool] = mapped_column(Boolean, default=False)
    grading_id: Mapped[int | None] = mapped_column(Integer)
    # The submission that counts for (applicant, task): the last one received. Earlier ones
    # stay stored, graded and readable, but leave queues and rankings unless asked for.
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    applicant: Mapped[Applicant] = relationship()
    task: Mapped[TaskRow] = relationship()


class Grading(Base):
    """A report for a submission at one task digest. Re-grades add rows; none is deleted."""

    __tablename__ = "gradings"
    __table_args__ = (
        UniqueConstraint("submission_id", "task_digest", name="uq_grading_submission_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task_digest: Mapped[str] = mapped_column(String(64))
    task_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    report_json: Mapped[str] = mapped_column(Text)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))
    # What changed against the previous grading: [{what, before, after}].
    differences: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A queued grading. The row is the job: it survives restarts and lost workers."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    queue: Mapped[str] = mapped_column(String(16), default="cpu")  # cpu | gpu
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    worker: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Review(Base):
    """One reviewer's rubric scores, tier and integrity judgement for one submission."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("submission_id", "reviewer_id", name="uq_review"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # criterion -> score
    total: Mapped[float] = mapped_column(Float, default=0.0)
    tier: Mapped[str | None] = mapped_column(String(16))
    integrity_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    integrity_note: Mapped[str] = mapped_column(Text, default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


class Assignment(Base):
    """One reviewer asked to review one submission (an operator's assignment)."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("submission_id", "reviewer_id", name="uq_assignment"),
        Index("ix_assignments_reviewer", "reviewer_id", "submission_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by: Mapped[str] = mapped_column(String(100))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


class ReviewConflict(Base):
    """A declared conflict of interest: this reviewer never reviews this applicant."""

    __tablename__ = "review_conflicts"
    __table_args__ = (UniqueConstraint("reviewer_id", "applicant_id", name="uq_review_conflict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewComment(Base):
    """A reviewer's comment anchored to a file (and line) or a notebook cell of a submission."""

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    path: Mapped[str] = mapped_column(String(1024))
    line: Mapped[int | None] = mapped_column(Integer)
    cell: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


class AuditEntry(Base):
    """Every score change: who, when, what, before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LoginThrottle(Base):
    """Failed sign-ins counted per username (``user:…``) or client address (``addr:…``)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
