"""Question request and response shapes (type rules live in shared.question_types)."""

import marshmallow as ma
from marshmallow import validate

from shared.interop.formats.registry import FORMAT_NAMES
from shared.question_types import MAX_PROMPT, QUESTION_TYPES, SCORINGS
from web.errors import ErrorSchema
from web.fields import CELL_ERRORS_OR_FIELD_ERRORS, Number, answer_shape

ANY_JSON = answer_shape("Depends on the type: see the question types table (null: essay)")


class OptionSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "Short label; assigned A, B, C... if omitted"})
    text = ma.fields.String(required=True)


class QuestionInSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    prompt = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_PROMPT))
    options = ma.fields.List(ma.fields.Nested(OptionSchema), allow_none=True)
    correct_answer = ma.fields.Raw(allow_none=True, metadata=ANY_JSON)
    points = Number(places=2)
    scoring = ma.fields.String(allow_none=True, validate=validate.OneOf(SCORINGS))
    tolerance = Number(allow_none=True)
    case_sensitive = ma.fields.Boolean(allow_none=True)
    tags = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=50)))
    explanation = ma.fields.String(allow_none=True, validate=validate.Length(max=MAX_PROMPT))


class QuestionPatchSchema(QuestionInSchema):
    """Every field optional; what is sent is merged into the question and re-validated."""

    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(partial=True, **kwargs)


class QuestionSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    type = ma.fields.String(required=True, validate=validate.OneOf(QUESTION_TYPES))
    prompt = ma.fields.String(required=True)
    options = ma.fields.List(ma.fields.Nested(OptionSchema), allow_none=True)
    correct_answer = ma.fields.Raw(allow_none=True, metadata=ANY_JSON)
    points = Number(required=True)
    scoring = ma.fields.String(allow_none=True)
    tolerance = Number(allow_none=True)
    case_sensitive = ma.fields.Boolean(required=True)
    tags = ma.fields.List(ma.fields.String(), required=True)
    explanation = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(
        required=True, metadata={"description": "Bumped by every change to how it is scored"}
    )
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class QuestionQuerySchema(ma.Schema):
    type = ma.fields.String(validate=validate.OneOf(QUESTION_TYPES))
    tag = ma.fields.String(validate=validate.Length(min=1, max=50))
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Text in the prompt"}
    )


FORMAT_HELP = (
    "xlsx, gift (Moodle GIFT text), moodle_xml (Moodle XML) or qti (a QTI 2.1 package: a .zip "
    "with imsmanifest.xml)"
)


class ImportQuerySchema(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False)
    format = ma.fields.String(
        validate=validate.OneOf(FORMAT_NAMES),
        metadata={
            "description": f"{FORMAT_HELP}; by default from the file name: .xlsx, .gift or "
            ".txt, .xml, .zip (anything else is read as .xlsx)"
        },
    )


class ExportQuerySchema(QuestionQuerySchema):
    format = ma.fields.String(
        load_default="xlsx",
        validate=validate.OneOf(FORMAT_NAMES),
        metadata={"description": FORMAT_HELP},
    )


class ImportFileSchema(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={
            "type": "string",
            "format": "binary",
            "description": ".xlsx, .gift/.txt, .xml (Moodle XML) or .zip (QTI 2.1)",
        },
    )


class CellErrorSchema(ma.Schema):
    row = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "The sheet's row number; GIFT: the question's first line; Moodle XML "
            "and QTI: the question's number in the file"
        },
    )
    column = ma.fields.String(
        allow_none=True,
        metadata={"description": "The sheet's column; other formats: the question's name"},
    )
    message = ma.fields.String(required=True)


WARNINGS_HELP = (
    "What the import could not keep (media files, partial credit, unequal weights); "
    "the questions are created anyway"
)


class ImportFailedSchema(ErrorSchema):
    """A 422 from the import: cell errors (the sheet), or field errors (the request)."""

    created = ma.fields.Integer(metadata={"description": "0: nothing was created"})
    question_ids = ma.fields.List(ma.fields.UUID())
    dry_run = ma.fields.Boolean()
    format = ma.fields.String()
    warnings = ma.fields.List(
        ma.fields.Nested(CellErrorSchema), metadata={"description": WARNINGS_HELP}
    )
    errors = ma.fields.Raw(
        metadata={
            "oneOf": CELL_ERRORS_OR_FIELD_ERRORS,
            "description": "The sheet's problems as a list of {row, column, message}; or, for "
            "a bad request (no file, a bad dry_run), per-field messages as an object",
        }
    )


class ImportResultSchema(ma.Schema):
    created = ma.fields.Integer(
        required=True, metadata={"description": "Questions created (would be, in a dry run)"}
    )
    question_ids = ma.fields.List(ma.fields.UUID(), required=True)
    dry_run = ma.fields.Boolean(required=True)
    format = ma.fields.String(required=True, metadata={"description": "The format read"})
    errors = ma.fields.List(ma.fields.Nested(CellErrorSchema), required=True)
    warnings = ma.fields.List(
        ma.fields.Nested(CellErrorSchema), required=True, metadata={"description": WARNINGS_HELP}
    )
