"""What a student or an admin sees of an attempt: questions in the attempt's own order
(never keys), time left from the server clock, and a score only once it may be shown."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from shared.errors import NotFound
from shared.exam_rules import results_visible, seconds_left
from shared.models import Attempt, AttemptStatus, Exam
from shared.people import sessions as token_sessions
from shared.question_types import json_number
from shared.services.pools import drawn_points


def attempt_questions(attempt: Attempt, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The exam's questions as this student sees them: their order, their option order,
    the questions their attempt drew from pools with the pool's points."""
    by_id = {q["id"]: q for q in payload["questions"]}
    option_order = attempt.option_order or {}
    shown = []
    for position, qid in enumerate(attempt.question_order, start=1):
        question = by_id.get(qid)
        if question is None:
            continue
        options = question["options"]
        if options and qid in option_order:
            by_option = {o["id"]: o for o in options}
            options = [by_option[i] for i in option_order[qid] if i in by_option]
        shown.append({**question, "options": options, "position": position})
        points = drawn_points(attempt, qid)
        if points is not None:
            shown[-1]["points"] = json_number(points)
    return shown


def still_saving(exam_id: uuid.UUID, now: datetime) -> list[Any]:
    """Conditions for the exam's attempts that can still save an answer now."""
    return [
        Attempt.exam_id == exam_id,
        Attempt.status == AttemptStatus.IN_PROGRESS,
        Attempt.expires_at > now,
    ]


def time_remaining(attempt: Attempt, now: datetime) -> int:
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return 0
    return seconds_left(attempt.deadline, now)


def visible_score(attempt: Attempt, exam: Exam, now: datetime, *, is_admin: bool) -> Decimal | None:
    """Admins always see the score; a student only once results are released."""
    if attempt.status != AttemptStatus.GRADED:
        return None
    return attempt.score if is_admin or results_visible(exam, now) else None


# What a status poll reads, as a plain row: the busiest endpoint need not build two ORM
# objects (nor decode the attempt's JSON question order) to answer 304 (bench/ab.py).
_ATTEMPTS, _EXAMS = Attempt.__table__.c, Exam.__table__.c
_STATUS_COLUMNS = (
    _ATTEMPTS.id, _ATTEMPTS.status, _ATTEMPTS.submit_reason, _ATTEMPTS.score,
    _ATTEMPTS.max_score, _ATTEMPTS.pending_manual, _ATTEMPTS.graded_at, _ATTEMPTS.expires_at,
    _ATTEMPTS.deadline,
    _EXAMS.results_release, _EXAMS.results_released_at, _EXAMS.closes_at,
)  # fmt: skip


def status_row(
    session: Session,
    attempt_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    is_admin: bool,
    token: dict[str, Any] | None = None,
) -> Row[Any]:
    """The polling target: one indexed read of the attempt's status and its exam's release
    rules. The row has the attributes `status_view` reads of an attempt and of an exam.
    With `token` (`{sid, version}`), the row's `token_ok` says whether that token may still
    be used (`sessions.is_valid`), in the same round trip; None when the attempt is not
    found, so the caller decides which error comes first."""
    params: dict[str, Any] = {"attempt_id": attempt_id, "user_id": user_id}
    if token is not None:
        params |= {"sid": token["sid"], "version": token["version"]}
    # On the session's connection: a Core read needs none of the ORM's per-statement work.
    row = session.connection().execute(_STATUS_READS[is_admin, token is not None], params).first()
    if row is None and token is None:
        raise NotFound("attempt not found")
    return row  # type: ignore[return-value]


def _status_read(*, is_admin: bool, with_token: bool) -> Any:
    columns: tuple[Any, ...] = _STATUS_COLUMNS
    if with_token:  # same parameters as `sessions.is_valid`: sid, user_id, version
        columns += (token_sessions.valid_clause().label("token_ok"),)
    query = select(*columns).join_from(
        Attempt.__table__, Exam.__table__, _EXAMS.id == _ATTEMPTS.exam_id
    )
    query = query.where(_ATTEMPTS.id == bindparam("attempt_id"))
    if not is_admin:
        query = query.where(_ATTEMPTS.student_id == bindparam("user_id"))
    return query


def status_view(attempt: Any, exam: Any, now: datetime, *, is_admin: bool) -> dict[str, Any]:
    """An attempt and its exam, or a `status_row` as both."""
    return {
        "id": attempt.id,
        "status": attempt.status,
        "submit_reason": attempt.submit_reason,
        "score": visible_score(attempt, exam, now, is_admin=is_admin),
        "max_score": attempt.max_score,
        "pending_manual": attempt.pending_manual,
        "graded_at": attempt.graded_at,
        "deadline": attempt.deadline,
    }


# Built once: the busiest read compiles from the cache without being rebuilt per request.
_STATUS_READS = {
    (admin, token): _status_read(is_admin=admin, with_token=token)
    for admin in (False, True)
    for token in (False, True)
}
