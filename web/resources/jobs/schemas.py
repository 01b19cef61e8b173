"""Job shapes."""

import marshmallow as ma

from web.fields import Number


class RegradeInSchema(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False)
    replace_manual = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Also replace grades given by hand (essays' always stay)"},
    )


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


class KeptManualSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    question_id = ma.fields.String(required=True)


class RegradeReportSchema(ma.Schema):
    dry_run = ma.fields.Boolean(required=True)
    replace_manual = ma.fields.Boolean(required=True)
    exam_id = ma.fields.String(required=True)
    key_versions = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Integer(),
        metadata={"description": "The version of each question's key the job graded with"},
    )  # fmt: skip
    changes = ma.fields.List(ma.fields.Nested(ScoreChangeSchema), required=True)
    failures = ma.fields.List(ma.fields.Nested(FailureSchema), required=True)
    kept_manual = ma.fields.List(
        ma.fields.Nested(KeptManualSchema),
        required=True,
        metadata={
            "description": "Grades given by hand that the regrade kept; for a rollback, "
            "answers graded by hand after the rolled-back job, kept as they are"
        },
    )


class ForceSubmitResultSchema(ma.Schema):
    submitted = ma.fields.Integer(required=True, metadata={"description": "Attempts submitted"})
    not_running = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Named students who had no running attempt"},
    )


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
    rollback_of = ma.fields.UUID(
        allow_none=True, metadata={"description": "A rollback: the job whose changes it undoes"}
    )
    rolled_back_by = ma.fields.UUID(
        allow_none=True,
        metadata={"description": "The rollback of this job, if it was rolled back"},
    )
    report = ma.fields.Nested(
        RegradeReportSchema, allow_none=True, metadata={"description": "Regrade and rollback jobs"}
    )
    result = ma.fields.Nested(
        ForceSubmitResultSchema, allow_none=True, metadata={"description": "Force-submit jobs"}
    )
