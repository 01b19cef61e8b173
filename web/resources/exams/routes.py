"""Exam routes: admins author and publish; students list and read published exams."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from shared.models import Accommodation, Exam, Role, utcnow
from shared.services import exams, pools
from web.attempt_tasks import after_time_change
from web.errors import ErrorSchema
from web.extensions import db_session
from web.resources.exams.schemas import (
    AccommodationInSchema,
    AccommodationSchema,
    ExamInSchema,
    ExamPatchSchema,
    ExamQuerySchema,
    ExamQuestionSchema,
    ExamQuestionsInSchema,
    ExamSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity

blp = Blueprint("exams", __name__, url_prefix="/api/v1/exams", description="Exams")


@blp.route("")
class ExamList(MethodView):
    @blp.auth()
    @blp.arguments(ExamQuerySchema, location="query")
    @blp.response(200, ExamSchema(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[Any]:
        """Admins: every exam. Students: published exams with their own attempt summary"""
        identity = current_identity()
        page = {
            "offset": pagination_parameters.first_item,
            "limit": pagination_parameters.page_size,
        }
        if identity.is_admin:
            found, total = exams.list_exams(db_session(), status=query.get("status"), **page)
        else:
            rows, total = exams.list_for_student(
                db_session(), identity.user_id, now=utcnow(), **page
            )
            found = [_with_summary(exam, summary) for exam, summary in rows]
        pagination_parameters.item_count = total
        return found

    @blp.auth(Role.ADMIN)
    @blp.arguments(ExamInSchema)
    @blp.response(201, ExamSchema)
    def post(self, data: dict[str, Any]) -> Exam:
        """Create an exam (as a draft)"""
        exam = exams.create_exam(db_session(), data)
        db_session().commit()
        return exam


@blp.route("/<uuid:exam_id>")
class ExamItem(MethodView):
    @blp.auth()
    @blp.response(200, ExamSchema)
    def get(self, exam_id: uuid.UUID) -> Any:
        """An exam (to a student: only a published one of theirs, with their attempt
        summary)"""
        identity = current_identity()
        student_id = None if identity.is_admin else identity.user_id
        exam = exams.get_exam(db_session(), exam_id, student_id=student_id)
        if identity.is_admin:
            return exam
        summary = exams.attempt_summaries(db_session(), identity.user_id, [exam], now=utcnow())
        return _with_summary(exam, summary[exam.id])

    @blp.auth(Role.ADMIN)
    @blp.arguments(ExamPatchSchema)
    @blp.response(200, ExamSchema)
    def patch(self, data: dict[str, Any], exam_id: uuid.UUID) -> Exam:
        """Edit an exam. A change of duration_seconds, closes_at or grace_seconds applies at
        once to running attempts: their deadlines are recomputed, and one whose new
        deadline + grace has passed is submitted (reason `timeout`)"""
        now = utcnow()
        exam, change = exams.update_exam(
            db_session(), exam_id, data, by=current_identity().user_id, now=now
        )
        db_session().commit()
        after_time_change(change, now)
        return exam

    @blp.auth(Role.ADMIN)
    @blp.response(204)
    @blp.alt_response(409, schema=ErrorSchema, description="Students have attempts")
    def delete(self, exam_id: uuid.UUID) -> None:
        """Delete an exam nobody has attempted (otherwise archive it)"""
        exams.delete_exam(db_session(), exam_id)
        db_session().commit()


@blp.route("/<uuid:exam_id>/questions")
class ExamQuestions(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, ExamQuestionSchema(many=True))
    def get(self, exam_id: uuid.UUID) -> list[dict[str, Any]]:
        """The exam's entries in order: questions with keys and effective points, and pools
        with how many questions they can draw from"""
        return pools.entries(exams.get_exam(db_session(), exam_id))

    @blp.auth(Role.ADMIN)
    @blp.arguments(ExamQuestionsInSchema)
    @blp.response(200, ExamSchema)
    @blp.alt_response(
        409, schema=ErrorSchema, description="Students have started, or a published pool is short"
    )
    def put(self, data: dict[str, Any], exam_id: uuid.UUID) -> Exam:
        """Set the ordered entries: questions with optional per-exam points, and pools
        `{pool: {tag, count, points?}}` drawn for each attempt at start"""
        exam = exams.set_questions(db_session(), exam_id, data["questions"])
        db_session().commit()
        return exam


@blp.route("/<uuid:exam_id>/publish", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(200, ExamSchema)
@blp.alt_response(409, schema=ErrorSchema, description="No questions, a short pool, or archived")
def publish(_: dict[str, Any], exam_id: uuid.UUID) -> Exam:
    """Publish: students can see and start it (within its window)"""
    exam = exams.publish(db_session(), exam_id)
    db_session().commit()
    return exam


@blp.route("/<uuid:exam_id>/archive", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(200, ExamSchema)
def archive(_: dict[str, Any], exam_id: uuid.UUID) -> Exam:
    """Archive: hidden from students; attempts and results are kept"""
    exam = exams.archive(db_session(), exam_id)
    db_session().commit()
    return exam


@blp.route("/<uuid:exam_id>/accommodations", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, AccommodationSchema(many=True))
def accommodations(exam_id: uuid.UUID) -> list[Accommodation]:
    """Every student's extra time for this exam"""
    return exams.list_accommodations(db_session(), exam_id)


@blp.route("/<uuid:exam_id>/accommodations/<uuid:student_id>", methods=["PUT"])
@blp.auth(Role.ADMIN)
@blp.arguments(AccommodationInSchema)
@blp.response(200, AccommodationSchema)
def set_accommodation(data: dict[str, Any], exam_id: uuid.UUID, student_id: uuid.UUID) -> Any:
    """Give one student extra time (never past closes_at); it applies at once to their
    running attempt (deadline recomputed, timeout submission follows it)"""
    now = utcnow()
    accommodation, change = exams.set_accommodation(
        db_session(),
        exam_id,
        student_id,
        data["extra_seconds"],
        by=current_identity().user_id,
        now=now,
    )
    db_session().commit()
    after_time_change(change, now)
    return accommodation


def _with_summary(exam: Exam, summary: exams.AttemptSummary) -> dict[str, Any]:
    dumped = {
        name: getattr(exam, name) for name in ExamSchema().fields if name != "attempt_summary"
    }
    return {**dumped, "attempt_summary": summary}
