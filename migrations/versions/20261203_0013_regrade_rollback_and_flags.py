"""regrade rollback and flags

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.models.base import JSONType, UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SCORE_CHANGE_ACTIVE = "kind IN ('regrade', 'rollback') AND status IN ('queued', 'running')"


def upgrade() -> None:
    _upgrade_rollback()


def downgrade() -> None:
    _downgrade_rollback()


def _upgrade_rollback() -> None:
    """Regrade rollback: what each real regrade replaced, and the rollback job's link."""
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rollback_of", sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint("uq_jobs_rollback_of", ["rollback_of"])
        batch_op.create_foreign_key(
            "fk_jobs_rollback_of_jobs", "jobs", ["rollback_of"], ["id"], ondelete="CASCADE"
        )
    op.create_index(
        "uq_jobs_one_score_change_per_exam",
        "jobs",
        ["exam_id"],
        unique=True,
        postgresql_where=sa.text(_SCORE_CHANGE_ACTIVE),
        sqlite_where=sa.text(_SCORE_CHANGE_ACTIVE),
    )
    op.create_table(
        "replaced_grades",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("before", JSONType, nullable=False),
        sa.Column("after", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_replaced_grades_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_replaced_grades_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "attempt_id", name=op.f("pk_replaced_grades")),
    )


def _downgrade_rollback() -> None:
    op.drop_table("replaced_grades")
    op.drop_index(
        "uq_jobs_one_score_change_per_exam",
        table_name="jobs",
        postgresql_where=sa.text(_SCORE_CHANGE_ACTIVE),
        sqlite_where=sa.text(_SCORE_CHANGE_ACTIVE),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_jobs_rollback_of_jobs", type_="foreignkey")
        batch_op.drop_constraint("uq_jobs_rollback_of", type_="unique")
        batch_op.drop_column("rollback_of")
