"""The grades of attempts as plain JSON, taken before and after a regrade or a rollback
changes them (in the same transaction), and what restoring the earlier one would write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shared.models import Answer, Attempt
from shared.models.job import ReplacedGrades

# What a grading writes to an answer, and so what a rollback puts back.
ANSWER_FIELDS = (
    "points_awarded",
    "is_correct",
    "needs_manual",
    "key_version",
    "feedback",
    "graded_by",
    "graded_at",
)
TOTAL_FIELDS = ("score", "max_score", "pending_manual")


def capture(
    session: Session, attempt_ids: list[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, dict[str, Any]]:
    """The grades of these attempts as stored now: two queries, whatever their number.
    `lock` locks the attempts first, as grading by hand does, so none changes meanwhile."""
    found: dict[uuid.UUID, dict[str, Any]] = {}
    totals = select(Attempt.id, *(getattr(Attempt, f) for f in TOTAL_FIELDS))
    totals = totals.with_for_update() if lock else totals
    for row in session.execute(totals.where(Attempt.id.in_(attempt_ids))):
        attempt = {f: _encode(getattr(row, f)) for f in TOTAL_FIELDS}
        found[row.id] = {"attempt": attempt, "answers": {}}
    answers = select(
        Answer.attempt_id, Answer.question_id, *(getattr(Answer, f) for f in ANSWER_FIELDS)
    )
    for row in session.execute(answers.where(Answer.attempt_id.in_(attempt_ids))):
        found[row.attempt_id]["answers"][str(row.question_id)] = {
            f: _encode(getattr(row, f)) for f in ANSWER_FIELDS
        }
    return found


def store(
    session: Session,
    job_id: uuid.UUID,
    before: dict[uuid.UUID, dict[str, Any]],
    after: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """Keep what the job replaced and what it wrote, for the attempts it changed: their
    totals and only the answers that changed (a key fix touches one question of fifty)."""
    rows = []
    for attempt_id, was in before.items():
        now = after.get(attempt_id)
        if now is None:
            continue
        changed = [q for q, a in was["answers"].items() if now["answers"].get(q) != a]
        if not changed and was["attempt"] == now["attempt"]:
            continue  # nothing changed: nothing to roll back
        rows.append({
            "job_id": job_id, "attempt_id": attempt_id,
            "before": {"attempt": was["attempt"], "answers": _only(was, changed)},
            "after": {"attempt": now["attempt"], "answers": _only(now, changed)},
        })  # fmt: skip
    if rows:
        session.execute(insert(ReplacedGrades), rows)


def _only(captured: dict[str, Any], question_ids: list[str]) -> dict[str, Any]:
    return {q: captured["answers"].get(q) for q in question_ids}


@dataclass(frozen=True)
class Restoration:
    """What rolling one attempt back writes: answer rows (bulk UPDATE form) and totals."""

    answers: list[dict[str, Any]]
    score: Decimal
    max_score: Decimal
    pending_manual: int
    # Answers whose grade changed since the job (a grade by hand): kept as they are now.
    kept: tuple[str, ...]
    # Whether anything differs from now: the answers or the totals to write.
    rewrites: bool


def restoration(
    attempt_id: uuid.UUID, replaced: ReplacedGrades, now_state: dict[str, Any]
) -> Restoration:
    """Put back `replaced.before` in every answer still as the job left it (`after`); keep
    the others. Totals are recounted from the answers, so a kept grade counts."""
    current = now_state["answers"]
    restored, kept, merged = [], [], dict(current)
    for qid, earlier in replaced.before["answers"].items():
        now = current.get(qid)
        if now is None or now == earlier:
            continue  # gone, or nothing to put back
        if now != replaced.after["answers"].get(qid):
            kept.append(qid)
            continue
        merged[qid] = earlier
        restored.append(
            {"attempt_id": attempt_id, "question_id": uuid.UUID(qid), **_decode_answer(earlier)}
        )
    points = (_decimal(a["points_awarded"]) or Decimal(0) for a in merged.values())
    score = sum(points, Decimal(0))
    max_score = _decimal(replaced.before["attempt"]["max_score"]) or Decimal(0)
    pending = sum(1 for a in merged.values() if a["needs_manual"])
    totals = now_state["attempt"]
    same_totals = (_decimal(totals["score"]), _decimal(totals["max_score"]),
                   totals["pending_manual"]) == (score, max_score, pending)  # fmt: skip
    return Restoration(
        answers=restored,
        score=score,
        max_score=max_score,
        pending_manual=pending,
        kept=tuple(sorted(kept)),
        rewrites=bool(restored) or not same_totals,
    )


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _decode_answer(answer: dict[str, Any]) -> dict[str, Any]:
    graded_at, graded_by = answer["graded_at"], answer["graded_by"]
    return {
        **answer,
        "points_awarded": _decimal(answer["points_awarded"]),
        "graded_at": None if graded_at is None else datetime.fromisoformat(graded_at),
        "graded_by": None if graded_by is None else uuid.UUID(graded_by),
    }
