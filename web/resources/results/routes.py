"""Result routes: students read released results; admins grade, list, export, release."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from shared.analysis import flags
from shared.messaging import TaskName
from shared.models import Attempt, Exam, Role, utcnow
from shared.services import attempt_views, attempts, exams, grading, results
from shared.spreadsheets import results as sheets
from web.downloads import CSV, XLSX, attachment
from web.errors import ErrorSchema
from web.extensions import cache, db_session, read_session, send_task
from web.resources.results.schemas import (
    GradedSchema,
    ManualGradeSchema,
    QueueItemSchema,
    QueueQuerySchema,
    ReleaseSchema,
    ResultSchema,
    RosterItemSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity

blp = Blueprint("results", __name__, url_prefix="/api/v1", description="Results and grading")


@blp.route("/attempts/<uuid:attempt_id>/result", methods=["GET"])
@blp.auth()
@blp.response(200, ResultSchema)
@blp.alt_response(409, schema=ErrorSchema, description="results_not_released")
def result(attempt_id: uuid.UUID) -> dict[str, Any]:
    """The graded attempt question by question (students: once released)"""
    identity, session = current_identity(), db_session()
    attempt = attempts.get_attempt(
        session, attempt_id, user_id=identity.user_id, is_admin=identity.is_admin
    )
    exam = session.get(Exam, attempt.exam_id)
    assert exam is not None
    return results.result_view(session, attempt, exam, utcnow(), is_admin=identity.is_admin)


@blp.route("/attempts/<uuid:attempt_id>/answers/<uuid:question_id>/grade", methods=["PUT"])
@blp.auth(Role.ADMIN)
@blp.arguments(ManualGradeSchema)
@blp.response(200, GradedSchema)
@blp.alt_response(409, schema=ErrorSchema, description="Not graded automatically yet")
def grade_by_hand(data: dict[str, Any], attempt_id: uuid.UUID, question_id: uuid.UUID) -> Attempt:
    """Grade one answer by hand (0 <= points <= possible); the total updates at once"""
    attempt = grading.grade_by_hand(
        db_session(),
        attempt_id,
        question_id,
        points=data["points"],
        feedback=data.get("feedback"),
        grader_id=current_identity().user_id,
        now=utcnow(),
    )
    db_session().commit()
    return attempt


@blp.route("/exams/<uuid:exam_id>/grading-queue", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.arguments(QueueQuerySchema, location="query")
@blp.response(200, QueueItemSchema(many=True))
@blp.paginate()
def grading_queue(
    query: dict[str, Any], exam_id: uuid.UUID, pagination_parameters: Any
) -> list[Any]:
    """Answers that need a human, oldest submission first; filter by question"""
    rows, total = results.grading_queue(
        db_session(),
        exam_id,
        question_id=query.get("question_id"),
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/exams/<uuid:exam_id>/attempts", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, RosterItemSchema(many=True))
@blp.paginate()
def roster(exam_id: uuid.UUID, pagination_parameters: Any) -> list[dict[str, Any]]:
    """Every attempt with its student, status, time left and score"""
    now = utcnow()
    rows, total = results.roster(
        read_session(),  # a replica's lag of a second is fine for the roster
        exam_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    flagged = flags.kinds_by_attempt(read_session(), exam_id, cache(), now) if rows else {}
    return [
        {
            **{c.name: getattr(attempt, c.name) for c in Attempt.__table__.columns},
            "student_email": student.email,
            "student_name": student.full_name,
            "time_remaining_seconds": attempt_views.time_remaining(attempt, now),
            "flags": flagged.get(str(attempt.id), []),
        }
        for attempt, student in rows
    ]


@blp.route("/exams/<uuid:exam_id>/results.xlsx", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, content_type=XLSX, description="One row per attempt, a column per question")
def results_xlsx(exam_id: uuid.UUID) -> Response:
    """Results as a spreadsheet (formula-safe cells)"""
    exam = _exam(exam_id)
    data = sheets.to_xlsx(sheets.result_rows(read_session(), exam))
    return attachment(data, XLSX, f"results-{exam_id}.xlsx")


@blp.route("/exams/<uuid:exam_id>/results.csv", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(
    200, content_type="text/csv", description="One row per attempt, a column per question"
)
def results_csv(exam_id: uuid.UUID) -> Response:
    """Results as CSV (formula-safe cells)"""
    exam = _exam(exam_id)
    data = sheets.to_csv(sheets.result_rows(read_session(), exam))
    return attachment(data.encode("utf-8-sig"), CSV, f"results-{exam_id}.csv")


@blp.route("/exams/<uuid:exam_id>/release-results", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(200, ReleaseSchema)
def release_results(_: dict[str, Any], exam_id: uuid.UUID) -> dict[str, Any]:
    """Release results now (for manual release); students are told"""
    created = results.release(db_session(), exam_id, utcnow())
    db_session().commit()
    for notification_id in created:
        send_task(TaskName.SEND_EMAIL, str(notification_id))
    exam = _exam(exam_id)
    return {
        "exam_id": exam.id,
        "results_released_at": exam.results_released_at,
        "notified": len(created),
    }


def _exam(exam_id: uuid.UUID) -> Exam:
    return exams.get_exam(db_session(), exam_id)
