"""Exam-day request and response shapes."""

import marshmallow as ma
from marshmallow import validate

DAY = 86400


class ExtendInSchema(ma.Schema):
    extra_seconds = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=DAY),
        metadata={"description": "Seconds added to this attempt's deadline (may pass closes_at)"},
    )


class ReopenInSchema(ma.Schema):
    extra_seconds = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=DAY),
        metadata={"description": "The reopened attempt's deadline is now + extra_seconds"},
    )
    reason = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "Why: kept in the event trail and told to the student"},
    )


class ForceSubmitExamInSchema(ma.Schema):
    student_ids = ma.fields.List(
        ma.fields.UUID(),
        validate=validate.Length(min=1, max=100_000),
        metadata={"description": "Only these students' running attempts (default: all)"},
    )
