"""people: groups, exam audiences, disabled accounts, token versions, password links

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.models.base import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="0")
        )

    # Exams that exist already stay open to every student; new ones default to `assigned`.
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("audience", sa.String(length=16), nullable=False, server_default="everyone")
        )
        batch_op.create_check_constraint("audience", "audience IN ('assigned', 'everyone')")
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.alter_column("audience", server_default=None)

    op.create_table(
        "groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name_key", name=op.f("uq_groups_name_key")),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )  # fmt: skip
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"], unique=False)
    op.create_table(
        "exam_groups",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_exam_groups_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_exam_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", "group_id", name=op.f("pk_exam_groups")),
    )  # fmt: skip
    op.create_index("ix_exam_groups_group_id", "exam_groups", ["group_id"], unique=False)
    op.create_table(
        "exam_students",
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"], ["exams.id"], name=op.f("fk_exam_students_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_exam_students_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exam_id", "user_id", name=op.f("pk_exam_students")),
    )  # fmt: skip
    op.create_index("ix_exam_students_user_id", "exam_students", ["user_id"], unique=False)
    op.create_table(
        "password_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_password_tokens")),
    )  # fmt: skip
    op.create_index("ix_password_tokens_user_id", "password_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_password_tokens_user_id", table_name="password_tokens")
    op.drop_table("password_tokens")
    op.drop_index("ix_exam_students_user_id", table_name="exam_students")
    op.drop_table("exam_students")
    op.drop_index("ix_exam_groups_group_id", table_name="exam_groups")
    op.drop_table("exam_groups")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
    with op.batch_alter_table("exams", schema=None) as batch_op:
        batch_op.drop_constraint("audience", type_="check")
        batch_op.drop_column("audience")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_version")
        batch_op.drop_column("active")
