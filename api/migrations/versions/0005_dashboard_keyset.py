"""dashboard: keyset indexes, and the automatic integrity flag as its own column

Revision ID: 0005
Revises: 0004

The dashboard lists counted submissions in (sort value, id) order, a page at a time from
its neighbour's position: an index per sortable column, counted first, walks that order.
The integrity pass writes its flags into the current report; the dashboard filters on a
column. Existing flagged reports set it once here.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The flag kinds the integrity pass writes (api.integrity.KINDS), fixed as they were here.
KINDS = ("integrity", "integrity-reference")
INDEXES = {
    "ix_submissions_counted_id": ["counted", "id"],
    "ix_submissions_counted_score": ["counted", "task_score", "id"],
    "ix_submissions_counted_status": ["counted", "status", "id"],
    "ix_submissions_counted_reviews": ["counted", "review_count", "id"],
    "ix_submissions_counted_task": ["counted", "task_id", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("integrity_auto", sa.Boolean(), nullable=False, server_default="0")
        )
        for name, columns in INDEXES.items():
            batch.create_index(name, columns)
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT s.id, g.report_json FROM submissions s JOIN gradings g ON g.id = s.grading_id "
            "WHERE g.report_json LIKE '%integrity%'"
        )
    ).all()
    flagged = [sid for sid, report in rows if _has_integrity_flag(report)]
    if flagged:
        conn.execute(
            sa.text("UPDATE submissions SET integrity_auto = true WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": flagged},
        )


def _has_integrity_flag(report_json: str) -> bool:
    try:
        flags = json.loads(report_json).get("flags") or []
    except (ValueError, AttributeError):
        return False
    return any(isinstance(f, dict) and f.get("kind") in KINDS for f in flags)


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        for name in INDEXES:
            batch.drop_index(name)
        batch.drop_column("integrity_auto")
