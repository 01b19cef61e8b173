"""question pools: exam entries that draw questions by tag, and each attempt's draw

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "exam_pools",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=50), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("points", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.CheckConstraint("count >= 1", name=op.f("ck_exam_pools_count_positive")),
        sa.CheckConstraint(
            "points IS NULL OR points > 0", name=op.f("ck_exam_pools_points_positive")
        ),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_exam_pools_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", "position", name=op.f("pk_exam_pools")),
    )  # fmt: skip
    # A question edit finds the exams drawing from its tags (their cached payload changes).
    op.create_index("ix_exam_pools_tag", "exam_pools", ["tag"], unique=False)
    # Each attempt's draw, stored at start so resume and grading see the same questions.
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drawn", JSON, nullable=True))
        batch_op.add_column(sa.Column("draw_seed", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("draw_seed")
        batch_op.drop_column("drawn")
    op.drop_index("ix_exam_pools_tag", table_name="exam_pools")
    op.drop_table("exam_pools")
