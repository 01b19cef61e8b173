"""Job shapes."""

import marshmallow as ma

from web.fields import Number


class RegradeInSchema(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False)


class JobAcceptedSchema(ma.Schema):
    job_id = ma.fields.UUID(required=True)
    status_url = ma.fields.String(required=True)


class ScoreChangeSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    old_score = Number(allow_none=True)
    new_score = Number(allow_none=True)


class FailureSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    error = ma.fields.String(allow_none=True)


class RegradeReportSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    exam_id = ma.fields.String(required=True)
    key_versions = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(),
        metadata={"description": "The version of each question's key the job graded with"},
    )  # fmt: skip
    changes = ma.fields.List(ma.fields.Nested(ScoreChangeSchema), required=True)
    failures = ma.fields.List(ma.fields.Nested(FailureSchema), required=True)


class JobSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    total = ma.fields.Integer(required=True)
    done = ma.fields.Integer(required=True)
    failed = ma.fields.Integer(required=True)
    changed = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    started_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    report = ma.fields.Nested(RegradeReportSchema, required=True)
