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
# A mentor is a reviewer account scoped to the streams they mentor.
ROLES = ("reviewer", "operator", "mentor")


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
    # The window (UTC): no attempt starts before opens_at, nothing is on time after closes_at.
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    # Minutes added to every attempt's budget (slow uploads, clock skew) before it is late.
    grace_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A late upload is refused ("refuse") or accepted and marked late ("flag").
    late_policy: Mapped[str] = mapped_column(String(16), default="refuse", server_default="refuse")
    # Nothing of the outcome reaches applicants before an operator releases it.
    results_released_at: Mapped[datetime | None]
    results_released_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # Days after release in which an applicant may ask for a regrade (once per task).
    regrade_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    # The rubric judge: "off", "blind" (shown after a reviewer's own review) or "assist".
    judge_mode: Mapped[str] = mapped_column(String(16), default="off", server_default="off")

    tasks: Mapped[list[CohortTask]] = relationship(cascade="all, delete-orphan")


class CohortTask(Base):
    __tablename__ = "cohort_tasks"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    # Minutes from Start to the deadline (None: untimed, due at the cohort's close).
    time_budget_minutes: Mapped[int | None] = mapped_column(Integer)


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
    # An IANA zone name: times are stored in UTC and shown to the applicant in this zone.
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # A decision (advanced | rejected | withdrawn) with its reason; None: the stage follows
    # from what the applicant did (invited, started, submitted, reviewed: api.stages).
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    decision_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    decision_at: Mapped[datetime | None]
    # The message an applicant reads with their results once the cohort's are released.
    feedback: Mapped[str] = mapped_column(Text, default="", server_default="")

    cohort: Mapped[Cohort] = relationship()


class User(Base):
    """A reviewer or an operator (an operator can also review)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # reviewer | operator | mentor (a reviewer scoped to the streams they mentor)
    role: Mapped[str] = mapped_column(String(16), default="reviewer")
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
    # Received after the applicant's deadline under a cohort's "flag" policy: kept, marked,
    # and never counted while an on-time submission of the pair exists.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

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


class Stream(Base):
    """A research stream of a cohort: applicants choose it, its mentors rank and shortlist."""

    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("cohort_id", "name", name="uq_stream_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StreamMentor(Base):
    __tablename__ = "stream_mentors"

    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)


class StreamTask(Base):
    """A follow-up task of a stream (taken by its applicants on top of the cohort's)."""

    __tablename__ = "stream_tasks"

    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)


class StreamChoice(Base):
    """An applicant applying to a stream, and the stream's shortlist decision on them."""

    __tablename__ = "stream_choices"

    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), primary_key=True, index=True)
    chosen_at: Mapped[datetime] = mapped_column(default=utcnow)
    shortlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    shortlisted_by: Mapped[str] = mapped_column(String(100), default="")
    shortlisted_at: Mapped[datetime | None]


class StreamNote(Base):
    """A mentor's note on an applicant within a stream (mentors and operators read them)."""

    __tablename__ = "stream_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    """An applicant's timed attempt at a task: started once, due at ``deadline_at`` (UTC)."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("applicant_id", "task_id", name="uq_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # min(start + budget + grace + extensions, cohort close), recomputed on an extension.
    deadline_at: Mapped[datetime | None]


class Extension(Base):
    """Extra minutes an operator granted one applicant (one task, or every task if None)."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(ForeignKey("tasks.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    # Extends past the cohort's close as well (otherwise the close still caps the deadline).
    past_close: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegradeRequest(Base):
    """An applicant's request to regrade a task after release (one per applicant and task)."""

    __tablename__ = "regrade_requests"
    __table_args__ = (UniqueConstraint("applicant_id", "task_id", name="uq_regrade_request"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|accepted|declined
    response: Mapped[str] = mapped_column(Text, default="")
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[datetime | None]
    # The gradings before and after an accepted regrade (their differences are shown).
    grading_before_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))
    grading_after_id: Mapped[int | None] = mapped_column(ForeignKey("gradings.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message to send (invitation, deadline reminder, results released), kept once sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("applicants.id"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id"))
    # Set for messages that must go once only (e.g. "reminder:<applicant>:<task>:<hours>").
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Judgment(Base):
    """The rubric judge's pre-score of one criterion of one submission, apart from reviews."""

    __tablename__ = "judgments"
    __table_args__ = (
        UniqueConstraint("submission_id", "criterion", "config_key", name="uq_judgment"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    criterion: Mapped[str] = mapped_column(String(100))
    # The judge's configuration (provider, model, prompt version) as a digest: a cache key.
    config_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # ok | discarded | failed
    level: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    # {"quotes": [...], "rationale": str, "flags": [...], "tokens": int, "cost": float, ...}
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JudgeStandIn(Base):
    """An operator's decision that the judge stands in for humans on one task's criterion."""

    __tablename__ = "judge_stand_ins"

    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # What the operator required: at least min_reviews blind reviews, kappa at least this.
    min_reviews: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Float)
    # The agreement measured when it was decided: {"kappa": .., "low": .., "high": .., "n": ..}.
    measured: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


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
