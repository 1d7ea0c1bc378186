"""reviewer workbench: counted submissions, assignments, conflicts, inline comments

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("review_capacity", sa.Integer(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("counted", sa.Boolean(), nullable=False, server_default="1"))
        batch.create_index("ix_submissions_counted", ["counted", "received_at", "id"])
        batch.create_index("ix_submissions_applicant_task", ["applicant_id", "task_id"])
    # Existing data: only the last upload per (applicant, task) counts.
    op.execute(
        "UPDATE submissions SET counted = false WHERE EXISTS (SELECT 1 FROM submissions later "
        "WHERE later.applicant_id = submissions.applicant_id "
        "AND later.task_id = submissions.task_id AND later.id > submissions.id)"
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "reviewer_id", name="uq_assignment"),
    )
    op.create_index("ix_assignments_reviewer", "assignments", ["reviewer_id", "submission_id"])
    op.create_index("ix_assignments_submission_id", "assignments", ["submission_id"])
    op.create_table(
        "review_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["applicant_id"], ["applicants.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reviewer_id", "applicant_id", name="uq_review_conflict"),
    )
    op.create_index("ix_review_conflicts_reviewer_id", "review_conflicts", ["reviewer_id"])
    op.create_index("ix_review_conflicts_applicant_id", "review_conflicts", ["applicant_id"])
    op.create_table(
        "review_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("cell", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_comments_submission_id", "review_comments", ["submission_id"])
    op.create_index("ix_review_comments_reviewer_id", "review_comments", ["reviewer_id"])


def downgrade() -> None:
    op.drop_table("review_comments")
    op.drop_table("review_conflicts")
    op.drop_table("assignments")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_applicant_task")
        batch.drop_index("ix_submissions_counted")
        batch.drop_column("counted")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("review_capacity")
