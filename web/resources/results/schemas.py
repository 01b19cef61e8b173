"""Result, grading and roster shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.question_types import MAX_POINTS
from web.fields import Number, answer_shape
from web.resources.attempts.schemas import RESPONSE

KEY = answer_shape("Only for admins, or after release with show_correct_answers")


class QuestionResultSchema(ma.Schema):
    question_id = ma.fields.String(required=True)
    response = ma.fields.Raw(allow_none=True, metadata=RESPONSE)
    is_correct = ma.fields.Boolean(allow_none=True, metadata={"description": "null: pending"})
    points_awarded = Number(allow_none=True, metadata={"description": "null: pending"})
    points_possible = Number(required=True)
    feedback = ma.fields.String(allow_none=True)
    correct_answer = ma.fields.Raw(allow_none=True, metadata=KEY)
    explanation = ma.fields.String(allow_none=True, metadata={"description": KEY["description"]})


class ResultSchema(ma.Schema):
    attempt_id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True)
    score = Number(allow_none=True)
    max_score = Number(required=True)
    percentage = Number(required=True)
    graded_count = ma.fields.Integer(required=True)
    pending_count = ma.fields.Integer(required=True)
    results = ma.fields.List(ma.fields.Nested(QuestionResultSchema), required=True)


class ManualGradeSchema(ma.Schema):
    points = Number(required=True, places=2, validate=validate.Range(min=0, max=MAX_POINTS))
    feedback = ma.fields.String(allow_none=True, validate=validate.Length(max=5000))


class GradedSchema(ma.Schema):
    attempt_id = ma.fields.UUID(required=True, attribute="id")
    score = Number(allow_none=True)
    max_score = Number(required=True)
    pending_manual = ma.fields.Integer(required=True)


class QueueQuerySchema(ma.Schema):
    question_id = ma.fields.UUID()


class QueueItemSchema(ma.Schema):
    attempt_id = ma.fields.UUID(required=True)
    question_id = ma.fields.UUID(required=True)
    student_id = ma.fields.UUID(required=True)
    student_name = ma.fields.String(required=True)
    student_email = ma.fields.String(required=True)
    prompt = ma.fields.String(required=True)
    response = ma.fields.Raw(allow_none=True, metadata=RESPONSE)
    points_possible = Number(required=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True)


class RosterItemSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    student_id = ma.fields.UUID(required=True)
    student_email = ma.fields.String(required=True)
    student_name = ma.fields.String(required=True)
    attempt_number = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    submit_reason = ma.fields.String(allow_none=True)
    started_at = ma.fields.AwareDateTime(required=True)
    deadline = ma.fields.AwareDateTime(required=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    graded_at = ma.fields.AwareDateTime(allow_none=True)
    last_activity_at = ma.fields.AwareDateTime(required=True)
    time_remaining_seconds = ma.fields.Integer(required=True)
    score = Number(allow_none=True)
    max_score = Number(required=True)
    pending_manual = ma.fields.Integer(required=True)
    flags = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Review flag kinds of the attempt (GET /exams/{id}/flags)"},
    )


class ReleaseSchema(ma.Schema):
    exam_id = ma.fields.UUID(required=True)
    results_released_at = ma.fields.AwareDateTime(required=True)
    notified = ma.fields.Integer(required=True, metadata={"description": "Students told now"})
