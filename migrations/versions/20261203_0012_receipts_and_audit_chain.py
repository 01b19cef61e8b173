"""receipts and audit chain

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.models.base import JSONType, UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE on both backends (SQLite 3.35+ drops columns too): a batch copy of
    # `attempts` on SQLite would drop the table, and with it, by cascade, every answer.
    op.add_column("attempts", sa.Column("answers_sha256", sa.String(length=64), nullable=True))
    op.add_column("attempt_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("attempt_events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_anchors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("exam_id", sa.Uuid(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("chains", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("heads", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_id"],
            ["exams.id"],
            name=op.f("fk_audit_anchors_exam_id_exams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchors")),
    )
    op.create_index(
        "ix_audit_anchors_exam_created", "audit_anchors", ["exam_id", "created_at"], unique=False
    )
    connection = op.get_bind()
    _chain_existing_events(connection)
    _seal_existing_submissions(connection)


_EVENTS = sa.table(
    "attempt_events",
    sa.column("id", sa.BigInteger()),
    sa.column("attempt_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("data", JSONType),
    sa.column("created_at", UTCDateTime()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)
_ATTEMPTS = sa.table(
    "attempts",
    sa.column("id", sa.Uuid()),
    sa.column("status", sa.String()),
    sa.column("answers_sha256", sa.String()),
)
BATCH = 2000


def _chain_existing_events(connection: sa.Connection) -> None:
    """The trail written before this revision becomes each attempt's chain as it stands now
    (what the first verification would otherwise report as unchained)."""
    from shared.trust.chain import GENESIS, UNCHAINED_KINDS, event_hash

    e = _EVENTS.c
    rows = connection.execute(
        sa.select(e.id, e.attempt_id, e.kind, e.data, e.created_at)
        .where(e.kind.not_in(UNCHAINED_KINDS))
        .order_by(e.attempt_id, e.id)
    ).all()
    update = (
        sa.update(_EVENTS)
        .where(e.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"))
    )
    batch: list[dict[str, object]] = []
    attempt, prev = None, GENESIS
    for row in rows:
        if row.attempt_id != attempt:
            attempt, prev = row.attempt_id, GENESIS
        digest = event_hash(prev, row.attempt_id, row.kind, row.data, row.created_at)
        batch.append({"b_id": row.id, "b_prev": prev, "b_hash": digest})
        prev = digest
        if len(batch) >= BATCH:
            connection.execute(update, batch)
            batch = []
    if batch:
        connection.execute(update, batch)


def _seal_existing_submissions(connection: sa.Connection) -> None:
    """Attempts submitted before receipts existed get the digest of their answers as they
    are at the upgrade, so they have receipts too."""
    from shared.trust.receipts import seal

    a = _ATTEMPTS.c
    ids = list(
        connection.scalars(
            sa.select(a.id).where(a.status.in_(("submitted", "graded")), a.answers_sha256.is_(None))
        )
    )
    for start in range(0, len(ids), BATCH):
        seal(connection, ids[start : start + BATCH])


def downgrade() -> None:
    op.drop_index("ix_audit_anchors_exam_created", table_name="audit_anchors")
    op.drop_table("audit_anchors")
    op.drop_column("attempt_events", "hash")
    op.drop_column("attempt_events", "prev_hash")
    op.drop_column("attempts", "answers_sha256")
