"""integrity: key versions, rotating refresh tokens, manual grades kept by regrades,
emails normalised with NFKC and case folding

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:40:00
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.models.base import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "question_keys",
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("correct_answer", JSON, nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["questions.id"],
            name=op.f("fk_question_keys_question_id_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "version", name=op.f("pk_question_keys")),
    )
    # Today's key of every question is the first one kept; answers graded with an older
    # version fall back to it.
    op.execute(
        "INSERT INTO question_keys (question_id, version, correct_answer, created_at) "
        "SELECT id, version, correct_answer, updated_at FROM questions"
    )

    op.create_table(
        "used_refresh_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_used_refresh_tokens")),
    )
    op.create_index(
        "ix_used_refresh_tokens_expires_at", "used_refresh_tokens", ["expires_at"], unique=False
    )

    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replace_manual", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("job_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kept_manual", JSON, nullable=True))

    _normalise_emails()


def _normalise_emails() -> None:
    """Existing emails in the new form; one that would collide with another account is
    left as it is (an admin merges those by hand)."""
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("email", sa.String()))
    rows = connection.execute(sa.select(users.c.id, users.c.email)).all()
    taken = {email for _, email in rows}
    for user_id, email in rows:
        normal = unicodedata.normalize("NFKC", email).strip().casefold()
        if normal != email and normal not in taken:
            connection.execute(users.update().where(users.c.id == user_id).values(email=normal))
            taken.add(normal)


def downgrade() -> None:
    with op.batch_alter_table("job_items", schema=None) as batch_op:
        batch_op.drop_column("kept_manual")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("replace_manual")
    op.drop_index("ix_used_refresh_tokens_expires_at", table_name="used_refresh_tokens")
    op.drop_table("used_refresh_tokens")
    op.drop_table("question_keys")
