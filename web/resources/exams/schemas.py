"""Exam request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.question_types import MAX_POINTS, MAX_TAG
from web.fields import Number
from web.resources.questions.schemas import QuestionSchema

WEEK = 7 * 86400
STATUSES = ("draft", "published", "archived")
RELEASES = ("immediate", "after_close", "manual")
AUDIENCES = ("assigned", "everyone")


class ExamInSchema(ma.Schema):
    title = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=20_000))
    duration_seconds = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=WEEK))
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    grace_seconds = ma.fields.Integer(load_default=30, validate=validate.Range(min=0, max=86400))
    max_attempts = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    shuffle_questions = ma.fields.Boolean(load_default=False)
    shuffle_options = ma.fields.Boolean(load_default=False)
    results_release = ma.fields.String(load_default="immediate", validate=validate.OneOf(RELEASES))
    show_correct_answers = ma.fields.Boolean(load_default=False)
    audience = ma.fields.String(
        load_default="assigned",
        validate=validate.OneOf(AUDIENCES),
        metadata={"description": "assigned: only assigned groups and students; everyone"},
    )


class ExamPatchSchema(ExamInSchema):
    """Every field optional (partial loading skips the defaults, too)."""

    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(partial=True, **kwargs)


class AttemptSummarySchema(ma.Schema):
    attempt_count = ma.fields.Integer(required=True)
    best_score = Number(allow_none=True, metadata={"description": "null until results release"})
    in_progress = ma.fields.Boolean(required=True)
    in_progress_attempt_id = ma.fields.UUID(allow_none=True)


class ExamSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    title = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))
    duration_seconds = ma.fields.Integer(required=True)
    opens_at = ma.fields.AwareDateTime(allow_none=True)
    closes_at = ma.fields.AwareDateTime(allow_none=True)
    grace_seconds = ma.fields.Integer(required=True)
    max_attempts = ma.fields.Integer(required=True)
    shuffle_questions = ma.fields.Boolean(required=True)
    shuffle_options = ma.fields.Boolean(required=True)
    results_release = ma.fields.String(required=True)
    show_correct_answers = ma.fields.Boolean(required=True)
    audience = ma.fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    question_count = ma.fields.Integer(
        required=True, metadata={"description": "Questions per attempt (a pool counts its draws)"}
    )
    max_score = Number(
        required=True,
        metadata={
            "description": "The most an attempt can score: a pool without points counts its "
            "best draw (each attempt's own max_score is exact for its draw)"
        },
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
    published_at = ma.fields.AwareDateTime(allow_none=True)
    results_released_at = ma.fields.AwareDateTime(allow_none=True)
    attempt_summary = ma.fields.Nested(
        AttemptSummarySchema,
        allow_none=True,
        dump_default=None,
        metadata={"description": "Students only: their own attempts at this exam"},
    )


class ExamQuerySchema(ma.Schema):
    status = ma.fields.String(
        validate=validate.OneOf(STATUSES), metadata={"description": "Admins only"}
    )


class PoolInSchema(ma.Schema):
    tag = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_TAG))
    count = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=500))
    points = Number(
        places=2,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_POINTS),
        metadata={"description": "Points of each drawn question; default: the question's own"},
    )

    @ma.post_load
    def strip_tag(self, data, **kwargs):  # type: ignore[no-untyped-def]
        data["tag"] = data["tag"].strip()  # tags are stored trimmed
        if not data["tag"]:
            raise ma.ValidationError("must not be blank", "tag")
        return data


class ExamQuestionInSchema(ma.Schema):
    """A question `{question_id, points?}` or a pool `{pool: {tag, count, points?}}`."""

    question_id = ma.fields.UUID()
    points = Number(
        places=2,
        allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_POINTS),
        metadata={"description": "Overrides the question's points in this exam"},
    )
    pool = ma.fields.Nested(
        PoolInSchema,
        metadata={
            "description": "Instead of question_id: each attempt draws `count` distinct "
            "questions carrying `tag` when it starts"
        },
    )

    @ma.validates_schema
    def one_of(self, data, **kwargs):  # type: ignore[no-untyped-def]
        if ("question_id" in data) == ("pool" in data):
            raise ma.ValidationError("give either question_id or pool", "question_id")
        if "pool" in data and "points" in data:
            raise ma.ValidationError("a pool's points go inside pool", "points")


class ExamQuestionsInSchema(ma.Schema):
    questions = ma.fields.List(
        ma.fields.Nested(ExamQuestionInSchema), required=True, validate=validate.Length(max=500)
    )


class PoolSchema(ma.Schema):
    tag = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)
    points = Number(allow_none=True, metadata={"description": "null: each question's own"})
    available = ma.fields.Integer(
        required=True,
        metadata={"description": "Questions it can draw from now (tagged, not in the exam)"},
    )


class ExamQuestionSchema(ma.Schema):
    position = ma.fields.Integer(required=True)
    question_id = ma.fields.UUID(allow_none=True, metadata={"description": "null for a pool"})
    points = Number(
        required=True,
        attribute="effective_points",
        metadata={"description": "For a pool: the most its draws can give"},
    )
    points_override = Number(allow_none=True, attribute="points")
    question = ma.fields.Nested(QuestionSchema, allow_none=True)
    pool = ma.fields.Nested(PoolSchema, allow_none=True, metadata={"description": "A pool entry"})


class AccommodationInSchema(ma.Schema):
    extra_seconds = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=WEEK))


class AccommodationSchema(ma.Schema):
    exam_id = ma.fields.UUID(required=True)
    student_id = ma.fields.UUID(required=True)
    extra_seconds = ma.fields.Integer(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)
