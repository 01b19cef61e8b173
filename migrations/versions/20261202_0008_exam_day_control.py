"""exam day: per-attempt extensions and reopening, admin submissions, force-submit jobs,
and indexes for the proctor's live view

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.models.base import JSONType, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint("submit_reason", type_="check")
        batch_op.create_check_constraint(
            "submit_reason",
            "submit_reason IS NULL OR submit_reason IN ('student', 'timeout', 'admin')",
        )
        batch_op.add_column(
            sa.Column("extended_seconds", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("reopened_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("reopen_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("extended_seconds", server_default=None)
        batch_op.alter_column("reopen_count", server_default=None)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("params", JSONType, nullable=True))
        batch_op.add_column(sa.Column("result", JSONType, nullable=True))
    # The live view: running attempts by their last save (idle ones, saves in the last
    # minute), and an exam's recent submissions, each one index range, never a scan.
    op.create_index(
        "ix_attempts_exam_running_activity",
        "attempts",
        ["exam_id", "last_activity_at"],
        unique=False,
        postgresql_where=sa.text("status = 'in_progress'"),
        sqlite_where=sa.text("status = 'in_progress'"),
    )
    op.create_index(
        "ix_attempts_exam_submitted_at", "attempts", ["exam_id", "submitted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_exam_submitted_at", table_name="attempts")
    op.drop_index("ix_attempts_exam_running_activity", table_name="attempts")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("result")
        batch_op.drop_column("params")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("reopen_count")
        batch_op.drop_column("reopen_seconds")
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("extended_seconds")
        batch_op.drop_constraint("submit_reason", type_="check")
        batch_op.create_check_constraint(
            "submit_reason", "submit_reason IS NULL OR submit_reason IN ('student', 'timeout')"
        )
