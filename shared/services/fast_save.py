"""The autosave in one round trip (PostgreSQL): check the token, lock the attempt, upsert
the answers where their `seq` is newer, touch the attempt and write the event, in one
statement that commits on its own. Thousands of students save every 30 s: this is the
busiest request of an exam day (docs/performance.md, issue 16).

The statement writes only when everything the slow path checks holds: the token's user is
active at the token's version and its family is not revoked; the attempt is the student's,
in progress, and within deadline + grace. Otherwise it writes nothing and says which check
failed, and the caller answers through the ordinary path, which produces the exact errors
(404, 409 deadline_passed / already_submitted, or a timeout submission on the spot).

What a save is validated against (the attempt's questions, their types and option ids) is
fixed for the attempt's life — a question of a published exam can change neither — so it is
kept per process after the first save (`AttemptShapes`)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.orm import Session

from shared.cache import Cache
from shared.errors import InvalidInput
from shared.models import Attempt, Exam
from shared.question_types import response_error
from shared.services.exam_payload import exam_payload, questions_by_id

_SAVE = text(
    """
WITH tok AS (
    SELECT 1 FROM users u
    WHERE u.id = :uid AND u.active AND u.token_version = :tv
      AND NOT EXISTS (SELECT 1 FROM revoked_sessions r WHERE r.sid = :sid)
), att AS (
    SELECT a.id, a.deadline FROM attempts a
    WHERE a.id = :aid AND a.student_id = :uid AND a.status = 'in_progress'
      AND a.expires_at >= :now AND EXISTS (SELECT 1 FROM tok)
    FOR UPDATE
), v AS (
    SELECT * FROM unnest(CAST(:qids AS uuid[]), CAST(:responses AS text[]),
                         CAST(:seqs AS bigint[])) AS v(question_id, response, seq)
), up AS (
    INSERT INTO answers AS t (attempt_id, question_id, response, seq, saved_at, needs_manual)
    SELECT att.id, v.question_id, CAST(v.response AS jsonb), v.seq, :now, false
    FROM att CROSS JOIN v
    ON CONFLICT (attempt_id, question_id) DO UPDATE SET
        response = excluded.response, seq = coalesce(excluded.seq, t.seq),
        saved_at = excluded.saved_at, points_awarded = NULL, is_correct = NULL,
        feedback = NULL, graded_at = NULL, graded_by = NULL, key_version = NULL,
        needs_manual = false
    WHERE t.seq IS NULL OR excluded.seq IS NULL OR excluded.seq > t.seq
    RETURNING t.question_id
), touch AS (
    UPDATE attempts SET last_activity_at = :now WHERE id = (SELECT id FROM att)
), ev AS (
    INSERT INTO attempt_events (attempt_id, kind, data, created_at)
    SELECT att.id, 'saved', jsonb_build_object(
        'answers', CAST(:event_answers AS jsonb),
        'sid', CAST(:sid AS text), 'address', CAST(:address AS text),
        'ignored', coalesce((
            SELECT jsonb_agg(CAST(v.question_id AS text) ORDER BY CAST(v.question_id AS text))
            FROM v WHERE v.question_id NOT IN (SELECT question_id FROM up)
        ), CAST('[]' AS jsonb))), :now
    FROM att
)
SELECT EXISTS (SELECT 1 FROM tok) AS token_ok, (SELECT deadline FROM att) AS deadline,
       ARRAY(SELECT CAST(question_id AS text) FROM up) AS written
"""
)


@dataclass(frozen=True)
class Saved:
    written: set[str]
    deadline: datetime


class TokenRevoked(Exception):
    """The token's user is gone or disabled, its version is old, or its family revoked."""


def supported(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def save(
    connection: Connection,
    *,
    attempt_id: uuid.UUID,
    user_id: uuid.UUID,
    sid: str,
    token_version: int,
    rows: list[dict[str, Any]],
    now: datetime,
    address: str | None = None,
) -> Saved | None:
    """Run the save on an autocommit connection. None when the attempt can't take it (not
    the student's, submitted, past deadline + grace): nothing was written."""
    params = {
        "uid": user_id,
        "tv": token_version,
        "sid": sid,
        "address": address,
        "aid": attempt_id,
        "now": now,
        "qids": [r["question_id"] for r in rows],
        "responses": [json.dumps(r["response"]) for r in rows],
        "seqs": [r["seq"] for r in rows],
        "event_answers": json.dumps(
            [{"question_id": str(r["question_id"]), "seq": r["seq"]} for r in rows]
        ),
    }
    result = connection.execute(_SAVE, params).one()
    if not result.token_ok:
        raise TokenRevoked()
    if result.deadline is None:
        return None
    return Saved(written=set(result.written), deadline=result.deadline)


class AttemptShapes:
    """Per process: each attempt's owner and, per question, what a response must look like
    (type and option ids). Fixed for an attempt's life, so kept until evicted."""

    def __init__(self, max_items: int = 50_000, max_exams: int = 256) -> None:
        self._items: OrderedDict[uuid.UUID, tuple[uuid.UUID, dict[str, Any]]] = OrderedDict()
        # Per exam version: every question's shape. The first save of each attempt (every
        # attempt, in an exam's first minute) then costs one Core read, not ORM loads.
        self._exams: OrderedDict[tuple[uuid.UUID, Any], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max, self._max_exams = max_items, max_exams

    def get(
        self, connection: Any, session: Session, cache: Cache, attempt_id: uuid.UUID
    ) -> tuple[uuid.UUID, dict[str, Any]] | None:
        """The attempt's owner and shapes, read on `connection` (the save's own, so a first
        save costs no second checkout); `session` builds an exam's shapes the first time."""
        with self._lock:
            found = self._items.get(attempt_id)
            if found is not None:
                self._items.move_to_end(attempt_id)
                return found
        row = connection.execute(_SHAPE_READ, {"attempt_id": attempt_id}).first()
        if row is None:
            return None
        exam_shapes = self._exam_shapes(session, cache, row.exam_id, row.updated_at)
        order = row.question_order
        value = (row.student_id, {qid: exam_shapes[qid] for qid in order if qid in exam_shapes})
        with self._lock:
            self._items[attempt_id] = value
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return value

    def _exam_shapes(
        self, session: Session, cache: Cache, exam_id: uuid.UUID, version: Any
    ) -> dict[str, Any]:
        key = (exam_id, version)  # an edit of the exam moves updated_at: a new entry
        with self._lock:
            found = self._exams.get(key)
        if found is not None:
            return found
        exam = session.get(Exam, exam_id)
        assert exam is not None
        questions = questions_by_id(exam_payload(session, cache, exam))
        shapes = shapes_of(questions, list(questions))
        with self._lock:
            self._exams[key] = shapes
            while len(self._exams) > self._max_exams:
                self._exams.popitem(last=False)
        return shapes


_ATTEMPTS, _EXAMS = Attempt.__table__.c, Exam.__table__.c
_SHAPE_READ = (
    select(_ATTEMPTS.student_id, _ATTEMPTS.exam_id, _ATTEMPTS.question_order, _EXAMS.updated_at)
    .join_from(Attempt.__table__, Exam.__table__, _EXAMS.id == _ATTEMPTS.exam_id)
    .where(_ATTEMPTS.id == bindparam("attempt_id"))
)


def shapes_of(questions: dict[str, Any], question_order: list[str]) -> dict[str, Any]:
    """{question id: (type, option ids)} for the attempt's own questions."""
    return {
        qid: (questions[qid]["type"], [o["id"] for o in questions[qid]["options"] or []])
        for qid in question_order
        if qid in questions
    }


def validated_rows(shapes: dict[str, Any], answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The batch as rows, one per question (the highest `seq` of a question wins); the same
    422 as the ordinary path for a question not in the attempt or a response of the wrong
    shape."""
    errors: dict[str, list[str]] = {}
    latest: dict[str, dict[str, Any]] = {}
    for answer in answers:
        qid = str(answer["question_id"])
        shape = shapes.get(qid)
        if shape is None:
            errors.setdefault(qid, []).append("not a question of this attempt")
            continue
        problem = response_error(shape[0], shape[1], answer.get("response"))
        if problem:
            errors.setdefault(qid, []).append(f"response {problem}")
            continue
        kept, seq = latest.get(qid), answer.get("seq")
        if kept is None or kept["seq"] is None or seq is None or seq >= kept["seq"]:
            latest[qid] = {
                "question_id": uuid.UUID(qid),
                "response": answer.get("response"),
                "seq": seq,
            }
    if errors:
        raise InvalidInput("some answers are not valid", {"answers": [errors]})
    return list(latest.values())
