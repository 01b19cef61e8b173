"""Attempt request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.question_types import MAX_MAGNITUDE, QUESTION_TYPES
from web.fields import Number, answer_shape
from web.resources.questions.schemas import OptionSchema

MAX_BATCH = 500
ATTEMPT_STATUSES = ("in_progress", "submitted", "graded")
RESPONSE = answer_shape("Shape depends on the question type; null clears the answer")


class AnswerInSchema(ma.Schema):
    question_id = ma.fields.UUID(required=True)
    response = ma.fields.Raw(required=True, allow_none=True, metadata=RESPONSE)
    # strict: "7", 1.0 and 1.5 are not sequence numbers (a lax Integer would take them).
    seq = ma.fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_MAGNITUDE),
        metadata={
            "description": "Client sequence number, a non-negative integer; a lower one than "
            "stored is ignored, and a save without one keeps the stored one"
        },
    )


class AnswersInSchema(ma.Schema):
    answers = ma.fields.List(
        ma.fields.Nested(AnswerInSchema), required=True, validate=validate.Length(max=MAX_BATCH)
    )


class SubmitInSchema(ma.Schema):
    answers = ma.fields.List(
        ma.fields.Nested(AnswerInSchema), validate=validate.Length(max=MAX_BATCH)
    )


class SaveResultSchema(ma.Schema):
    saved = ma.fields.Integer(required=True, metadata={"description": "Answers written"})
    saved_at = ma.fields.AwareDateTime(required=True)
    time_remaining_seconds = ma.fields.Integer(required=True)
    ignored = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "Question ids whose seq was not newer than the stored one"},
    )


class AttemptQuestionSchema(ma.Schema):
    id = ma.fields.String(required=True)
    type = ma.fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    prompt = ma.fields.String(required=True)
    options = ma.fields.List(ma.fields.Nested(OptionSchema), allow_none=True)
    points = Number(required=True)
    position = ma.fields.Integer(required=True)


class AttemptBaseSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    exam_id = ma.fields.UUID(required=True)
    student_id = ma.fields.UUID(required=True)
    attempt_number = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(ATTEMPT_STATUSES))
    submit_reason = ma.fields.String(
        allow_none=True, validate=validate.OneOf(("student", "timeout", "admin"))
    )
    started_at = ma.fields.AwareDateTime(required=True)
    deadline = ma.fields.AwareDateTime(required=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    graded_at = ma.fields.AwareDateTime(allow_none=True)
    server_time = ma.fields.AwareDateTime(required=True)
    time_remaining_seconds = ma.fields.Integer(required=True)
    score = Number(allow_none=True, metadata={"description": "null until released"})
    max_score = Number(required=True)


class AttemptSchema(AttemptBaseSchema):
    questions = ma.fields.List(ma.fields.Nested(AttemptQuestionSchema), required=True)
    answers = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(allow_none=True, metadata=answer_shape("As last saved")),
        required=True,
        metadata={"description": "question_id: response, as last saved"},
    )


class MyAttemptSchema(AttemptBaseSchema):
    exam_title = ma.fields.String(required=True)


class AttemptStatusViewSchema(ma.Schema):
    """GET /attempts/{id}/status. (Not named AttemptStatus: a generated client names the
    attempt's `status` enum so, and would drop the Attempt model on the clash.)"""

    id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(ATTEMPT_STATUSES))
    submit_reason = ma.fields.String(allow_none=True)
    score = Number(allow_none=True)
    max_score = Number(required=True)
    pending_manual = ma.fields.Integer(required=True)
    graded_at = ma.fields.AwareDateTime(allow_none=True)
    deadline = ma.fields.AwareDateTime(
        required=True,
        metadata={
            "description": "Moves when an admin changes the time of a running attempt: a "
            "page polling this sees the new deadline (and a new ETag) at once"
        },
    )


class SubmittedSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True)
    status_url = ma.fields.String(required=True)


class AttemptEventSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    data = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    # The attempt's hash chain (docs/receipts-and-audit.md); null for `saved` events.
    prev_hash = ma.fields.String(allow_none=True)
    hash = ma.fields.String(allow_none=True)
