"""Exam-day routes: an admin acts on attempts while an exam runs. Every change is in the
attempt's event trail with the admin's id, and reaches the student's page at its next
save or status poll (the status ETag changes with the deadline)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import url_for

from shared.examday import control
from shared.messaging import TaskName
from shared.models import Role, utcnow
from web.attempt_tasks import after_time_change, grade, load_settled, schedule_expiry
from web.errors import ErrorSchema
from web.extensions import db_session, send_task
from web.resources.attempts.routes import full_view
from web.resources.attempts.schemas import AttemptSchema, SubmittedSchema
from web.resources.examday.schemas import ExtendInSchema, ForceSubmitExamInSchema, ReopenInSchema
from web.resources.jobs.schemas import JobAcceptedSchema
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity

blp = Blueprint(
    "examday", __name__, url_prefix="/api/v1", description="Exam day: act on running attempts"
)


@blp.route("/attempts/<uuid:attempt_id>/extend", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(ExtendInSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_submitted: reopen it instead")
def extend(data: dict[str, Any], attempt_id: uuid.UUID) -> dict[str, Any]:
    """Give one running attempt more time (its deadline may pass closes_at)"""
    now = utcnow()
    load_settled(attempt_id, now, lock=True)  # time already up: submitted, then 409 below
    attempt, change = control.extend(
        db_session(), attempt_id, data["extra_seconds"], by=current_identity().user_id, now=now
    )
    db_session().commit()
    after_time_change(change, now)
    return full_view(attempt, now, is_admin=True)


@blp.route("/attempts/<uuid:attempt_id>/force-submit", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(202, SubmittedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="already_submitted")
def force_submit(_: dict[str, Any], attempt_id: uuid.UUID) -> dict[str, Any]:
    """Submit a running attempt now with its saved answers (submit_reason `admin`)"""
    now = utcnow()
    load_settled(attempt_id, now, lock=True)
    attempt = control.force_submit(db_session(), attempt_id, by=current_identity().user_id, now=now)
    db_session().commit()
    grade(attempt.id)
    return {
        "id": attempt.id,
        "status": attempt.status,
        "status_url": url_for("attempts.status", attempt_id=attempt.id),
    }


@blp.route("/exams/<uuid:exam_id>/force-submit", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(ForceSubmitExamInSchema)
@blp.response(202, JobAcceptedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="One is already under way")
def force_submit_exam(data: dict[str, Any], exam_id: uuid.UUID) -> dict[str, Any]:
    """Submit every running attempt of the exam (or the named students'), as a job"""
    job = control.create_force_submit(
        db_session(), exam_id, student_ids=data.get("student_ids"), by=current_identity().user_id
    )
    db_session().commit()
    send_task(TaskName.FORCE_SUBMIT_EXAM, str(job.id))
    return {"job_id": job.id, "status_url": url_for("jobs.job", job_id=job.id)}


@blp.route("/attempts/<uuid:attempt_id>/reopen", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(ReopenInSchema)
@blp.response(200, AttemptSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Still running, or the exam is archived")
def reopen(data: dict[str, Any], attempt_id: uuid.UUID) -> dict[str, Any]:
    """Reopen a submitted attempt until now + extra_seconds: answers kept, score withdrawn
    until it is graded again after the next submit"""
    now = utcnow()
    load_settled(attempt_id, now, lock=True)
    attempt, notification = control.reopen(
        db_session(),
        attempt_id,
        extra_seconds=data["extra_seconds"],
        reason=data["reason"],
        by=current_identity().user_id,
        now=now,
    )
    db_session().commit()
    schedule_expiry(attempt.id, attempt.expires_at, now)
    if notification:
        send_task(TaskName.SEND_EMAIL, str(notification))
    return full_view(attempt, now, is_admin=True)
