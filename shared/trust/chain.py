"""The attempt trail as a hash chain per attempt.

Every `AttemptEvent` written through an ORM session (added objects, or bulk
`session.execute(insert(AttemptEvent), rows)`) is chained here, by session hooks, so no
writer can forget it: the hook locks the attempts (writers already hold those locks; taking
them again costs nothing and makes a fork impossible), reads each chain's head, and sets
`prev_hash`, `hash` and `created_at`. The event is in the writer's statement, so it commits
or rolls back with the state change it records.

`saved` events are left out (both hashes NULL): the autosave stays one SQL statement, and
the answers it wrote are folded into the submission's event, which carries the digest of
the final answers (`answers_sha256`, shared/trust/receipts.py). docs/receipts-and-audit.md
says what that does and does not prove."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm import attributes as orm_attributes

from shared.models.attempt import Attempt, AttemptEvent
from shared.models.base import utcnow
from shared.trust import receipts
from shared.trust.canonical import canonical_json, sha256_hex, timestamp

GENESIS = "0" * 64
UNCHAINED_KINDS = frozenset({"saved"})
# The events that record a submission: they carry the digest of the final answers.
SUBMISSION_KINDS = frozenset({"submitted", "expired"})

_EVENTS = AttemptEvent.__table__


def event_hash(
    prev_hash: str, attempt_id: uuid.UUID | str, kind: str, data: Any, created_at: datetime
) -> str:
    """SHA-256 hex of the previous hash's 64 ASCII digits followed by the canonical JSON of
    `[attempt_id, kind, data, created_at]`."""
    body = canonical_json([str(attempt_id), kind, data, timestamp(created_at)])
    return sha256_hex(prev_hash.encode("ascii") + body)


def heads(connection: Connection, attempt_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The hash of each attempt's last chained event (absent: no chained event yet)."""
    last = (
        select(_EVENTS.c.attempt_id, func.max(_EVENTS.c.id).label("id"))
        .where(_EVENTS.c.attempt_id.in_(attempt_ids), _EVENTS.c.hash.is_not(None))
        .group_by(_EVENTS.c.attempt_id)
        .subquery()
    )
    rows = connection.execute(
        select(_EVENTS.c.attempt_id, _EVENTS.c.hash).join(
            last, and_(_EVENTS.c.id == last.c.id, _EVENTS.c.attempt_id == last.c.attempt_id)
        )
    )
    return {row.attempt_id: row.hash for row in rows}


def _lock(connection: Connection, attempt_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Serialise appends per attempt: in id order, so two writers never deadlock here.
    Returns each attempt's questions, which a submission's digest needs (fixed at start)."""
    a = Attempt.__table__.c
    query = select(a.id, a.question_order).where(a.id.in_(attempt_ids))
    rows = connection.execute(query.order_by(a.id).with_for_update())
    return {row.id: row.question_order or [] for row in rows}


def chain_rows(connection: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """New event rows (dicts of attempt_id, kind, data[, created_at]) with their hashes, in
    order; a submission's data gains the digest its receipt signs."""
    chained = [r for r in rows if r.get("kind") not in UNCHAINED_KINDS]
    if not chained:
        return rows
    ids = sorted({uuid.UUID(str(r["attempt_id"])) for r in chained})
    orders = _lock(connection, ids)
    head = heads(connection, ids)
    submitted = sorted({uuid.UUID(str(r["attempt_id"])) for r in chained
                        if r["kind"] in SUBMISSION_KINDS})  # fmt: skip
    digests = receipts.seal(connection, submitted, orders) if submitted else {}
    out = []
    for row in rows:
        if row.get("kind") in UNCHAINED_KINDS:
            out.append(row)
            continue
        attempt_id = uuid.UUID(str(row["attempt_id"]))
        data = row.get("data")
        if row["kind"] in SUBMISSION_KINDS and attempt_id in digests:
            data = {**(data or {}), "answers_sha256": digests[attempt_id]}
        created_at = row.get("created_at") or utcnow()
        prev = head.get(attempt_id, GENESIS)
        digest = event_hash(prev, attempt_id, row["kind"], data, created_at)
        head[attempt_id] = digest
        out.append({**row, "data": data, "created_at": created_at,
                    "prev_hash": prev, "hash": digest})  # fmt: skip
    return out


@event.listens_for(Session, "before_flush")
def _chain_added(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    """Chain the AttemptEvent objects about to be inserted, in the order they were added."""
    new = [o for o in session.new if isinstance(o, AttemptEvent) and o.hash is None]
    if not new:
        return
    new.sort(key=lambda o: orm_attributes.instance_state(o).insert_order or 0)
    rows = chain_rows(
        session.connection(),
        [
            {"attempt_id": o.attempt_id, "kind": o.kind, "data": o.data, "created_at": o.created_at}
            for o in new
        ],  # fmt: skip
    )
    for obj, row in zip(new, rows, strict=True):
        if "hash" in row:
            obj.data, obj.created_at = row["data"], row["created_at"]
            obj.prev_hash, obj.hash = row["prev_hash"], row["hash"]


@event.listens_for(Session, "do_orm_execute")
def _chain_inserted(state: ORMExecuteState) -> None:
    """Chain the rows of `session.execute(insert(AttemptEvent), rows)`."""
    # The statement's table is an annotated copy of attempt_events: compare by name.
    table = getattr(state.statement, "table", None) if state.is_insert else None
    if getattr(table, "name", None) != _EVENTS.name:
        return
    params = state.parameters
    if not params:
        raise RuntimeError("insert AttemptEvent rows as parameters, so the chain sees them")
    rows = params if isinstance(params, list) else [params]
    state.session.flush()  # objects added earlier go first in their chains
    chained = chain_rows(state.session.connection(), [dict(r) for r in rows])
    state.parameters = chained if isinstance(params, list) else chained[0]
