"""index the emails not yet sent, for the email sweeps

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSENT = "email_status IN ('pending', 'sending')"


def upgrade() -> None:
    # The sweeps that re-send lost emails and give up interrupted ones ran every minute over
    # every notification ever made (found by tests/integration/test_query_plans.py).
    op.create_index(
        "ix_notifications_email_unsent",
        "notifications",
        ["email_status", "created_at"],
        unique=False,
        postgresql_where=sa.text(UNSENT),
        sqlite_where=sa.text(UNSENT),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notifications_email_unsent",
        table_name="notifications",
        postgresql_where=sa.text(UNSENT),
        sqlite_where=sa.text(UNSENT),
    )
