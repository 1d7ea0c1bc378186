"""stage-2 operations and the rubric judge

Revision ID: 0006
Revises: 0005

Streams (mentors, follow-up tasks, applicants' choices, shortlists, notes); cohort windows,
timed attempts and extensions; applicants' decisions, time zones and feedback; results
release and regrade requests; the outbox of messages; the rubric judge's pre-scores and its
stand-in decisions. Existing rows keep their meaning: cohorts without a window are open and
untimed, nothing is released, no submission is late, the judge is off.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "judge_stand_ins",
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("criterion", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("min_reviews", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("measured", sa.JSON(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("task_id", "criterion"),
    )
    op.create_table(
        "streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cohort_id", "name", name="uq_stream_name"),
    )
    op.create_index(op.f("ix_streams_cohort_id"), "streams", ["cohort_id"], unique=False)
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("applicant_id", "task_id", name="uq_attempt"),
    )
    op.create_index(op.f("ix_attempts_applicant_id"), "attempts", ["applicant_id"], unique=False)
    op.create_table(
        "extensions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("past_close", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_extensions_applicant_id"), "extensions", ["applicant_id"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_addr", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=True),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    op.create_index(op.f("ix_outbox_applicant_id"), "outbox", ["applicant_id"], unique=False)
    op.create_index("ix_outbox_status", "outbox", ["status", "id"], unique=False)
    op.create_table(
        "stream_choices",
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shortlisted", sa.Boolean(), nullable=False),
        sa.Column("shortlisted_by", sa.String(length=100), nullable=False),
        sa.Column("shortlisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("applicant_id", "stream_id"),
    )
    op.create_index(
        op.f("ix_stream_choices_stream_id"), "stream_choices", ["stream_id"], unique=False
    )
    op.create_table(
        "stream_mentors",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("stream_id", "user_id"),
    )
    op.create_table(
        "stream_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_stream_notes_applicant_id"), "stream_notes", ["applicant_id"], unique=False
    )
    op.create_index(op.f("ix_stream_notes_stream_id"), "stream_notes", ["stream_id"], unique=False)
    op.create_table(
        "stream_tasks",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["stream_id"],
            ["streams.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("stream_id", "task_id"),
    )
    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("criterion", sa.String(length=100), nullable=False),
        sa.Column("config_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "criterion", "config_key", name="uq_judgment"),
    )
    op.create_index(
        op.f("ix_judgments_submission_id"), "judgments", ["submission_id"], unique=False
    )
    op.create_index(op.f("ix_judgments_task_id"), "judgments", ["task_id"], unique=False)
    op.create_table(
        "regrade_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(length=100), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("grading_before_id", sa.Integer(), nullable=True),
        sa.Column("grading_after_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["grading_after_id"],
            ["gradings.id"],
        ),
        sa.ForeignKeyConstraint(
            ["grading_before_id"],
            ["gradings.id"],
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("applicant_id", "task_id", name="uq_regrade_request"),
    )
    op.create_index(
        op.f("ix_regrade_requests_applicant_id"), "regrade_requests", ["applicant_id"], unique=False
    )
    op.add_column(
        "applicants",
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
    )
    op.add_column("applicants", sa.Column("decision", sa.String(length=16), nullable=True))
    op.add_column(
        "applicants", sa.Column("decision_reason", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "applicants",
        sa.Column("decision_by", sa.String(length=100), server_default="", nullable=False),
    )
    op.add_column("applicants", sa.Column("decision_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("applicants", sa.Column("feedback", sa.Text(), server_default="", nullable=False))
    op.add_column("cohort_tasks", sa.Column("time_budget_minutes", sa.Integer(), nullable=True))
    op.add_column("cohorts", sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("cohorts", sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "cohorts", sa.Column("grace_minutes", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "cohorts",
        sa.Column("late_policy", sa.String(length=16), server_default="refuse", nullable=False),
    )
    op.add_column(
        "cohorts", sa.Column("results_released_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "cohorts",
        sa.Column("results_released_by", sa.String(length=100), server_default="", nullable=False),
    )
    op.add_column(
        "cohorts", sa.Column("regrade_days", sa.Integer(), server_default="14", nullable=False)
    )
    op.add_column(
        "cohorts",
        sa.Column("judge_mode", sa.String(length=16), server_default="off", nullable=False),
    )
    op.add_column(
        "submissions", sa.Column("late", sa.Boolean(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("submissions", "late")
    op.drop_column("cohorts", "judge_mode")
    op.drop_column("cohorts", "regrade_days")
    op.drop_column("cohorts", "results_released_by")
    op.drop_column("cohorts", "results_released_at")
    op.drop_column("cohorts", "late_policy")
    op.drop_column("cohorts", "grace_minutes")
    op.drop_column("cohorts", "closes_at")
    op.drop_column("cohorts", "opens_at")
    op.drop_column("cohort_tasks", "time_budget_minutes")
    op.drop_column("applicants", "feedback")
    op.drop_column("applicants", "decision_at")
    op.drop_column("applicants", "decision_by")
    op.drop_column("applicants", "decision_reason")
    op.drop_column("applicants", "decision")
    op.drop_column("applicants", "timezone")
    op.drop_index(op.f("ix_regrade_requests_applicant_id"), table_name="regrade_requests")
    op.drop_table("regrade_requests")
    op.drop_index(op.f("ix_judgments_task_id"), table_name="judgments")
    op.drop_index(op.f("ix_judgments_submission_id"), table_name="judgments")
    op.drop_table("judgments")
    op.drop_table("stream_tasks")
    op.drop_index(op.f("ix_stream_notes_stream_id"), table_name="stream_notes")
    op.drop_index(op.f("ix_stream_notes_applicant_id"), table_name="stream_notes")
    op.drop_table("stream_notes")
    op.drop_table("stream_mentors")
    op.drop_index(op.f("ix_stream_choices_stream_id"), table_name="stream_choices")
    op.drop_table("stream_choices")
    op.drop_index("ix_outbox_status", table_name="outbox")
    op.drop_index(op.f("ix_outbox_applicant_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_extensions_applicant_id"), table_name="extensions")
    op.drop_table("extensions")
    op.drop_index(op.f("ix_attempts_applicant_id"), table_name="attempts")
    op.drop_table("attempts")
    op.drop_index(op.f("ix_streams_cohort_id"), table_name="streams")
    op.drop_table("streams")
    op.drop_table("judge_stand_ins")
