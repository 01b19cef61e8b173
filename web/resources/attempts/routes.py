"""Attempt routes. Every route that touches an attempt first submits it if its time ran out,
so correctness never waits for the sweep."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Response, jsonify, request, url_for
from flask_jwt_extended import get_jwt
from flask_smorest import abort

from shared.errors import NotFound
from shared.models import Attempt, AttemptEvent, AttemptStatus, Exam, Role, utcnow
from shared.services import attempt_views, attempts, expiry, fast_save
from shared.services.exam_payload import exam_payload
from web import save_limit
from web.attempt_tasks import grade, load_settled, schedule_expiry
from web.errors import ErrorSchema
from web.extensions import cache, db_session
from web.resources.attempts import fast_path
from web.resources.attempts.schemas import (
    AnswersInSchema,
    AttemptEventSchema,
    AttemptSchema,
    AttemptStatusViewSchema,
    MyAttemptSchema,
    SaveResultSchema,
    SubmitInSchema,
    SubmittedSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity, ensure_not_revoked

blp = Blueprint("attempts", __name__, url_prefix="/api/v1", description="Taking an exam")


@blp.route("/exams/<uuid:exam_id>/attempts", methods=["POST"])
@blp.auth(Role.STUDENT)
@blp.arguments(NoBodySchema)
@blp.response(201, AttemptSchema, description="A new attempt")
@blp.alt_response(200, schema=AttemptSchema, description="The attempt already in progress")
@blp.alt_response(403, schema=ErrorSchema, description="not_enrolled: not assigned to you")
@blp.alt_response(409, schema=ErrorSchema, description="exam_not_open or attempt_limit_reached")
def start(_: dict[str, Any], exam_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    """Start the exam, or get back the attempt in progress (a crashed browser resumes here)"""
    identity, session, now = current_identity(), db_session(), utcnow()
    overdue, in_progress = expiry.settle_in_progress(session, exam_id, identity.user_id, now)
    if overdue:
        session.commit()
        grade(overdue)
    attempt, created = attempts.start_attempt(
        session, cache(), exam_id=exam_id, student_id=identity.user_id, now=now,
        in_progress=in_progress,
    )  # fmt: skip
    session.commit()
    if created:
        schedule_expiry(attempt.id, attempt.expires_at, now)
    # A new attempt has no answers yet: nothing to read back.
    view = full_view(attempt, now, is_admin=False, answers={} if created else None)
    return view, 201 if created else 200


@blp.route("/attempts/<uuid:attempt_id>", methods=["GET"])
@blp.auth()
@blp.response(200, AttemptSchema)
def get_attempt(attempt_id: uuid.UUID) -> dict[str, Any]:
    """The attempt with its saved answers and the time left (resume)"""
    now = utcnow()
    attempt = load_settled(attempt_id, now, lock=False)
    return full_view(attempt, now, is_admin=current_identity().is_admin)


@blp.route("/me/attempts", methods=["GET"])
@blp.auth(Role.STUDENT)
@blp.response(200, MyAttemptSchema(many=True))
@blp.paginate()
def my_attempts(pagination_parameters: Any) -> list[dict[str, Any]]:
    """My attempts, newest first (find the one in progress after a crash)"""
    session, now = db_session(), utcnow()
    student_id = current_identity().user_id
    rows, total = attempts.list_for_student(
        session,
        student_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    overdue = [attempt.id for attempt, _ in rows if expiry.settle(session, attempt, now)]
    if overdue:
        session.commit()
        grade(*overdue)
    pagination_parameters.item_count = total
    return [
        {**_summary(attempt, exam, now, is_admin=False), "exam_title": exam.title}
        for attempt, exam in rows
    ]


@blp.route("/attempts/<uuid:attempt_id>/answers", methods=["PUT"])
@blp.auth(Role.STUDENT, revocation_in_view=True)
@blp.arguments(AnswersInSchema)
@blp.response(200, SaveResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="deadline_passed or already_submitted")
@blp.alt_response(429, schema=ErrorSchema, description="Too many saves: retry after Retry-After")
def save_answers(data: dict[str, Any], attempt_id: uuid.UUID) -> dict[str, Any]:
    """Autosave a batch of answers (a stale `seq` never overwrites a newer answer)"""
    now = utcnow()
    fast = _fast_save(attempt_id, data["answers"], now)
    if fast is not None:
        return fast
    ensure_not_revoked()  # the ordinary path, with its exact errors
    attempt = load_settled(attempt_id, now, lock=True)
    # Only the owner's accepted saves count: a stranger can't spend someone's allowance.
    save_limit.ensure_left(attempt_id)
    outcome = attempts.save_answers(
        db_session(), cache(), attempt, data["answers"], now, device=_device()
    )
    db_session().commit()
    save_limit.count(attempt_id)
    return {
        "saved": outcome.saved,
        "saved_at": outcome.saved_at,
        "time_remaining_seconds": attempt_views.time_remaining(attempt, now),
        "ignored": outcome.stale,
    }


def _device() -> dict[str, str | None]:
    """Which session and address saved: two at once on one attempt is a review flag."""
    return {"sid": current_identity().sid, "address": request.remote_addr}


def _fast_save(attempt_id: uuid.UUID, answers: list[dict[str, Any]], now: datetime) -> Any:
    """The save in one statement (fast_path.try_save), for a save the fast lane passed on
    (or never saw: FAST_LANE off, CORS or tracing on); None: the ordinary path answers."""
    identity = current_identity()
    try:
        return fast_path.try_save(
            db_session(), cache(), attempt_id=attempt_id, user_id=identity.user_id,
            sid=identity.sid, token_version=get_jwt().get("tv", 0), answers=answers,
            now=now, address=request.remote_addr,
        )  # fmt: skip
    except fast_save.TokenRevoked:
        abort(401, message="the token has been revoked", error="token_revoked")


@blp.route("/attempts/<uuid:attempt_id>/submit", methods=["POST"])
@blp.auth(Role.STUDENT)
@blp.arguments(SubmitInSchema)
@blp.response(202, SubmittedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_submitted or deadline_passed")
def submit(data: dict[str, Any], attempt_id: uuid.UUID) -> dict[str, Any]:
    """Submit, with an optional last batch of answers saved in the same transaction"""
    now = utcnow()
    attempt = load_settled(attempt_id, now, lock=True)
    attempts.submit(db_session(), cache(), attempt, data.get("answers"), now)
    db_session().commit()
    grade(attempt.id)
    return {"id": attempt.id, "status": attempt.status, "status_url": _status_url(attempt.id)}


@blp.route("/attempts/<uuid:attempt_id>/status", methods=["GET"])
@blp.auth(revocation_in_view=True)
@blp.response(200, AttemptStatusViewSchema)
@blp.alt_response(304, description="Unchanged since the ETag sent in If-None-Match")
def status(attempt_id: uuid.UUID) -> Response:
    """Poll this: cheap, with an ETag (304 when unchanged)"""
    identity, now = current_identity(), utcnow()
    token = {"sid": identity.sid, "version": get_jwt().get("tv", 0)}

    def read() -> Any:
        return attempt_views.status_row(
            db_session(), attempt_id, user_id=identity.user_id, is_admin=identity.is_admin,
            token=token,
        )  # fmt: skip

    row = read()  # the token's validity comes in the same round trip
    if row is None or not row.token_ok:
        ensure_not_revoked()  # 401 token_revoked first, with the ordinary check's rules
        if row is None:
            raise NotFound("attempt not found")
    if row.status == AttemptStatus.IN_PROGRESS and now > row.expires_at:
        # Time ran out and no sweep has noticed yet: submit it now (the rare path).
        attempt = db_session().get(Attempt, row.id)
        if attempt is not None and expiry.settle(db_session(), attempt, now):
            db_session().commit()
            grade(attempt.id)
        row = read()
    body, etag = fast_path.status_document(row, now, is_admin=identity.is_admin)
    if fast_path.unchanged(etag, request.headers.get("If-None-Match")):
        response = Response(status=304)
    else:
        response = jsonify(body)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/attempts/<uuid:attempt_id>/events", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, AttemptEventSchema(many=True))
def attempt_events(attempt_id: uuid.UUID) -> list[AttemptEvent]:
    """The attempt's event trail: started, saved (question ids and seq), submitted, expired,
    graded, graded_by_hand, regraded, deadline_changed and reopened (with who and why)"""
    identity = current_identity()
    attempts.get_attempt(db_session(), attempt_id, user_id=identity.user_id, is_admin=True)
    return attempts.events(db_session(), attempt_id)


def _summary(attempt: Attempt, exam: Exam, now: datetime, *, is_admin: bool) -> dict[str, Any]:
    fields = {
        name: getattr(attempt, name) for name in MyAttemptSchema().fields if hasattr(attempt, name)
    }
    return {
        **fields,
        "server_time": now,
        "time_remaining_seconds": attempt_views.time_remaining(attempt, now),
        "score": attempt_views.visible_score(attempt, exam, now, is_admin=is_admin),
    }


def full_view(
    attempt: Attempt, now: datetime, *, is_admin: bool, answers: dict[str, Any] | None = None
) -> dict[str, Any]:
    session = db_session()
    exam = session.get(Exam, attempt.exam_id)
    assert exam is not None
    payload = exam_payload(session, cache(), exam)
    return {
        **_summary(attempt, exam, now, is_admin=is_admin),
        "questions": attempt_views.attempt_questions(attempt, payload),
        "answers": attempts.saved_answers(session, attempt.id) if answers is None else answers,
    }


def _status_url(attempt_id: uuid.UUID) -> str:
    return url_for("attempts.status", attempt_id=attempt_id)
