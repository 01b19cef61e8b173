"""Live view shapes (times are ISO 8601 strings with an offset, as cached)."""

import marshmallow as ma

_TIME = {"format": "date-time"}


class LiveCountsSchema(ma.Schema):
    eligible = ma.fields.Integer(
        required=True, metadata={"description": "Active students who may sit the exam"}
    )
    not_started = ma.fields.Integer(
        required=True, metadata={"description": "Eligible students with no attempt yet"}
    )
    in_progress = ma.fields.Integer(required=True, metadata={"description": "Running attempts"})
    submitted = ma.fields.Integer(
        required=True, metadata={"description": "Submitted attempts not graded yet"}
    )
    graded = ma.fields.Integer(required=True, metadata={"description": "Graded attempts"})


class IdleAttemptSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    student_id = ma.fields.String(required=True)
    student_name = ma.fields.String(required=True)
    student_email = ma.fields.String(required=True)
    last_saved_at = ma.fields.String(
        required=True, metadata={**_TIME, "description": "Its last save (or its start)"}
    )


class LiveSchema(ma.Schema):
    server_time = ma.fields.String(
        required=True, metadata={**_TIME, "description": "When these numbers were read"}
    )
    counts = ma.fields.Nested(LiveCountsSchema, required=True)
    saves_last_minute = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Running attempts that saved (or started) in the last 60 s, each "
            "counted once however often it saved"
        },
    )
    submissions_last_minute = ma.fields.Integer(
        required=True, metadata={"description": "Attempts submitted in the last 60 s"}
    )
    grading_backlog = ma.fields.Integer(
        required=True, metadata={"description": "Submitted attempts the grader has not finished"}
    )
    idle_count = ma.fields.Integer(
        required=True, metadata={"description": "Running attempts with no save for 2 minutes"}
    )
    idle = ma.fields.List(
        ma.fields.Nested(IdleAttemptSchema),
        required=True,
        metadata={"description": "The longest quiet of them first, at most 100"},
    )
