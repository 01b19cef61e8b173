"""Question bank routes (admin only)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from shared.models import Question, Role
from shared.services import question_import, questions
from web.downloads import XLSX, attachment
from web.errors import ErrorSchema
from web.extensions import db_session, settings
from web.resources.questions.schemas import (
    ExportQuerySchema,
    ImportFailedSchema,
    ImportFileSchema,
    ImportQuerySchema,
    ImportResultSchema,
    QuestionInSchema,
    QuestionPatchSchema,
    QuestionQuerySchema,
    QuestionSchema,
)
from web.security import Blueprint
from web.uploads import import_failed, read_upload

blp = Blueprint("questions", __name__, url_prefix="/api/v1/questions", description="Question bank")


@blp.route("")
class QuestionList(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.arguments(QuestionQuerySchema, location="query")
    @blp.response(200, QuestionSchema(many=True))
    @blp.paginate()
    def get(self, filters: dict[str, Any], pagination_parameters: Any) -> list[Question]:
        """List questions, newest first; filter by type, tag or text in the prompt"""
        found, total = questions.search_questions(
            db_session(),
            **filters,
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return found

    @blp.auth(Role.ADMIN)
    @blp.arguments(QuestionInSchema)
    @blp.response(201, QuestionSchema)
    def post(self, data: dict[str, Any]) -> Question:
        """Create a question"""
        question = questions.create_question(db_session(), data)
        db_session().commit()
        return question


@blp.route("/<uuid:question_id>")
class QuestionItem(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, QuestionSchema)
    def get(self, question_id: uuid.UUID) -> Question:
        """A question with its key"""
        return questions.get_question(db_session(), question_id)

    @blp.auth(Role.ADMIN)
    @blp.arguments(QuestionPatchSchema)
    @blp.response(200, QuestionSchema)
    @blp.alt_response(
        409, schema=ErrorSchema, description="Type or options of a published question"
    )
    def patch(self, data: dict[str, Any], question_id: uuid.UUID) -> Question:
        """Edit a question; key edits count from the next grading or regrade"""
        question = questions.update_question(db_session(), question_id, data)
        db_session().commit()
        return question

    @blp.auth(Role.ADMIN)
    @blp.response(204)
    @blp.alt_response(409, schema=ErrorSchema, description="An exam uses the question")
    def delete(self, question_id: uuid.UUID) -> None:
        """Delete a question no exam uses"""
        questions.delete_question(db_session(), question_id)
        db_session().commit()


@blp.route("/import", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(ImportQuerySchema, location="query")
@blp.arguments(ImportFileSchema, location="files")
@blp.response(200, ImportResultSchema)
@blp.alt_response(
    422,
    schema=ImportFailedSchema,
    description="Errors naming the row or item (nothing created); malformed or unsafe XML or zip",
)
@blp.alt_response(413, schema=ErrorSchema, description="File, expanded size or rows over limit")
@blp.alt_response(415, schema=ErrorSchema, description="Not a file of that format")
def import_questions(query: dict[str, Any], files: dict[str, Any]) -> Any:
    """Import questions from .xlsx, GIFT, Moodle XML or a QTI 2.1 package: all or none"""
    upload = files["file"]
    filename = upload.filename
    data = read_upload(upload, settings().IMPORT_MAX_BYTES)
    outcome = question_import.import_questions(
        db_session(),
        settings(),
        data,
        dry_run=query["dry_run"],
        format=query.get("format"),
        filename=filename,
    )
    if not outcome.ok:
        return import_failed(ImportResultSchema().dump(outcome), "the file has errors")
    db_session().commit()
    return outcome


@blp.route("/import/template", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, content_type=XLSX, description="The import template")
def import_template() -> Response:
    """The .xlsx template: header row, one example per type, a sheet of column help"""
    return attachment(question_import.sheet.write_template(), XLSX, "questions-template.xlsx")


@blp.route("/export", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(
    200,
    content_type="application/octet-stream",
    description="The questions as .xlsx, GIFT (text/plain), Moodle XML (application/xml) or a "
    "QTI 2.1 package (application/zip), re-importable",
)
def export_questions_as(filters: dict[str, Any]) -> Response:
    """Export questions in a format: xlsx, gift, moodle_xml or qti"""
    data, chosen = question_import.export_questions(db_session(), **filters)
    return attachment(data, chosen.content_type, chosen.filename)


@blp.route("/export.xlsx", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.arguments(QuestionQuerySchema, location="query")
@blp.response(200, content_type=XLSX, description="The questions, re-importable")
def export_questions(filters: dict[str, Any]) -> Response:
    """Export questions (same columns as the import)"""
    data, _ = question_import.export_questions(db_session(), **filters)
    return attachment(data, XLSX, "questions.xlsx")
