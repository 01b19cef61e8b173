"""Checking an exam's attempt trails, and anchoring them: a Merkle root over the chain heads
(sorted by attempt id), kept with its heads in `audit_anchors`."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.models.attempt import Attempt, AttemptEvent
from shared.models.exam import Exam
from shared.trust.chain import GENESIS, UNCHAINED_KINDS, event_hash
from shared.trust.models import AuditAnchor

MAX_BROKEN_LISTED = 100
ANCHOR_TASK = "trust.anchor_audit_chains"  # sent by beat (worker/app.py)
_E, _A = AttemptEvent.__table__.c, Attempt.__table__.c


def merkle_root(leaves: list[tuple[str, str]]) -> str:
    """Root over `(attempt_id, head hash)` pairs sorted by attempt id: a leaf is SHA-256 of
    `attempt_id|head`, a node SHA-256 of its children's 32 bytes each, an odd last node
    moves up unchanged; no chains: SHA-256 of nothing."""
    level = [
        hashlib.sha256(f"{a}|{h}".encode()).digest() for a, h in sorted(leaves, key=lambda p: p[0])
    ]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = [hashlib.sha256(p[0] + p[1]).digest() if len(p) == 2 else p[0] for p in pairs]
    return level[0].hex()


@dataclass
class Report:
    """What `verify_exam` found: the shape of GET /exams/{id}/audit/verify."""

    ok: bool = True
    chains: int = 0
    events: int = 0
    first_broken: dict[str, Any] | None = None
    root: str = ""
    broken: list[dict[str, Any]] = field(default_factory=list)
    anchor: dict[str, Any] | None = None

    def breaks(self, attempt_id: uuid.UUID | str, event_id: int | None, reason: str) -> None:
        """Record a broken link; the one with the lowest event id is `first_broken`."""
        self.ok = False
        item = {"attempt_id": str(attempt_id), "event_id": event_id, "reason": reason}
        if len(self.broken) < MAX_BROKEN_LISTED:
            self.broken.append(item)
        first = self.first_broken
        if first is None or (event_id or 0) < (first["event_id"] or 0):
            self.first_broken = item


def _walk(report: Report, attempt_id: uuid.UUID, rows: list[Any]) -> tuple[int, str] | None:
    """Recompute one attempt's chain; its head (event id, hash), None if it has none."""
    prev, head = GENESIS, None
    for row in rows:
        if row.kind in UNCHAINED_KINDS and row.hash is None and row.prev_hash is None:
            continue
        report.events += 1
        if row.kind in UNCHAINED_KINDS or row.hash is None:
            report.breaks(attempt_id, row.id, "unchained")
        elif row.prev_hash != prev:
            report.breaks(attempt_id, row.id, "previous_missing_or_changed")
        elif event_hash(prev, attempt_id, row.kind, row.data, row.created_at) != row.hash:
            report.breaks(attempt_id, row.id, "altered")
        prev = row.hash or prev
        head = (row.id, row.hash or "")
    return head


def _events(session: Session, exam_id: uuid.UUID) -> dict[uuid.UUID, list[Any]]:
    """The exam's chained events (and any that claims to be), by attempt, in id order."""
    query = (
        select(_E.id, _E.attempt_id, _E.kind, _E.data, _E.created_at, _E.prev_hash, _E.hash)
        .join(Attempt.__table__, _A.id == _E.attempt_id)
        .where(
            _A.exam_id == exam_id,
            or_(_E.kind.not_in(UNCHAINED_KINDS), _E.hash.is_not(None), _E.prev_hash.is_not(None)),
        )
        .order_by(_E.attempt_id, _E.id)
    )
    found: dict[uuid.UUID, list[Any]] = {}
    for row in session.execute(query).yield_per(2000):
        found.setdefault(row.attempt_id, []).append(row)
    return found


def verify_exam(session: Session, exam_id: uuid.UUID) -> Report:
    """Recompute every chain of the exam and its root, and check the last anchor's heads are
    still in their chains unchanged (a cut-off or rewritten tail shows there)."""
    if session.get(Exam, exam_id) is None:
        raise NotFound("exam not found")
    report = Report()
    current: dict[str, tuple[int, str]] = {}
    hashes: dict[int, str] = {}
    for attempt_id, rows in sorted(_events(session, exam_id).items(), key=lambda i: str(i[0])):
        head = _walk(report, attempt_id, rows)
        hashes.update({r.id: r.hash for r in rows if r.hash})
        if head is not None:
            report.chains += 1
            current[str(attempt_id)] = head
    report.root = merkle_root([(a, h) for a, (_, h) in current.items()])
    _check_anchor(session, exam_id, report, hashes)
    return report


def _check_anchor(
    session: Session, exam_id: uuid.UUID, report: Report, hashes: dict[int, str]
) -> None:
    anchor = latest_anchor(session, exam_id)
    if anchor is None:
        return
    still = True
    for attempt_id, event_id, head in anchor.heads:
        if hashes.get(event_id) != head:
            still = False
            report.breaks(attempt_id, event_id, "anchored_event_missing_or_changed")
    leaves = [(a, h) for a, _, h in anchor.heads]
    if merkle_root(leaves) != anchor.root:
        still = False
        report.ok = False
    report.anchor = {
        "id": str(anchor.id),
        "created_at": anchor.created_at,
        "root": anchor.root,
        "matches": still,
    }


def latest_anchor(session: Session, exam_id: uuid.UUID) -> AuditAnchor | None:
    """The exam's most recent anchor."""
    return session.scalar(
        select(AuditAnchor)
        .where(AuditAnchor.exam_id == exam_id)
        .order_by(AuditAnchor.created_at.desc())
        .limit(1)
    )


def current_heads(session: Session, exam_id: uuid.UUID) -> list[list[Any]]:
    """`[attempt id, event id, hash]` of each chain's last event, sorted by attempt id."""
    last = (
        select(_E.attempt_id, func.max(_E.id).label("id"))
        .join(Attempt.__table__, _A.id == _E.attempt_id)
        .where(_A.exam_id == exam_id, _E.hash.is_not(None))
        .group_by(_E.attempt_id)
        .subquery()
    )
    rows = session.execute(
        select(_E.attempt_id, _E.id, _E.hash).join(
            last, and_(_E.id == last.c.id, _E.attempt_id == last.c.attempt_id)
        )
    )
    return sorted(([str(r.attempt_id), r.id, r.hash] for r in rows), key=lambda h: h[0])


def anchor_exam(session: Session, exam_id: uuid.UUID, now: datetime) -> AuditAnchor | None:
    """Anchor the exam's chains now, unless nothing changed since its last anchor (or
    another anchoring of it holds the exam: two beats by mistake make one anchor)."""
    locked = select(Exam.id).where(Exam.id == exam_id).with_for_update(skip_locked=True)
    if session.scalar(locked) is None:
        return None
    heads = current_heads(session, exam_id)
    root = merkle_root([(a, h) for a, _, h in heads])
    last = latest_anchor(session, exam_id)
    if last is not None and last.root == root:
        return None
    count = session.scalar(
        select(func.count())
        .select_from(AttemptEvent.__table__.join(Attempt.__table__, _A.id == _E.attempt_id))
        .where(_A.exam_id == exam_id, _E.hash.is_not(None))
    )
    anchor = AuditAnchor(
        exam_id=exam_id, root=root, chains=len(heads), events=count or 0, heads=heads,
        created_at=now,
    )  # fmt: skip
    session.add(anchor)
    session.flush()
    return anchor


def exams_to_anchor(session: Session, now: datetime, recent_days: int) -> list[uuid.UUID]:
    """Published exams still open, or closed within `recent_days`: where trails still grow
    (grading, regrades, reopenings)."""
    since = now - timedelta(days=recent_days)
    query = select(Exam.id).where(
        Exam.published_at.is_not(None),
        or_(Exam.closes_at.is_(None), Exam.closes_at >= since),
        select(Attempt.id).where(Attempt.exam_id == Exam.id).exists(),
    )
    return list(session.scalars(query.order_by(Exam.id)))


def anchors(session: Session, exam_id: uuid.UUID, limit: int = 50) -> list[AuditAnchor]:
    """The exam's anchors, newest first."""
    if session.get(Exam, exam_id) is None:
        raise NotFound("exam not found")
    return list(
        session.scalars(
            select(AuditAnchor)
            .where(AuditAnchor.exam_id == exam_id)
            .order_by(AuditAnchor.created_at.desc())
            .limit(limit)
        )
    )
