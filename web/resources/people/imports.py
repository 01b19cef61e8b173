"""Bulk import of students from the files a school's information system exports."""

from __future__ import annotations

from typing import Any

from flask import Response

from shared.models import Role, utcnow
from shared.people import imports
from shared.spreadsheets.students import write_template
from web.downloads import XLSX, attachment
from web.errors import ErrorSchema
from web.extensions import db_session, send_emails, settings
from web.resources.people.blueprint import blp
from web.resources.people.schemas import (
    RosterFileSchema,
    RosterImportFailedSchema,
    RosterImportSchema,
)
from web.resources.questions.schemas import ImportQuerySchema
from web.uploads import import_failed, read_upload


@blp.route("/users/import", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(ImportQuerySchema, location="query")
@blp.arguments(RosterFileSchema, location="files")
@blp.response(200, RosterImportSchema)
@blp.alt_response(422, schema=RosterImportFailedSchema, description="Row errors; nothing done")
@blp.alt_response(413, schema=ErrorSchema, description="File, expanded size or rows over limit")
@blp.alt_response(415, schema=ErrorSchema, description="Neither .xlsx nor UTF-8 .csv")
def import_users(query: dict[str, Any], files: dict[str, Any]) -> Any:
    """Create or update students from .xlsx or .csv: all rows or none. Those imported
    without a password are emailed a link to choose one"""
    upload = files["file"]
    data = read_upload(upload, settings().IMPORT_MAX_BYTES)
    outcome = imports.import_students(
        db_session(),
        settings(),
        upload.filename or "",
        data,
        dry_run=query["dry_run"],
        now=utcnow(),
    )
    if not outcome.ok:
        return import_failed(RosterImportSchema().dump(outcome), "the file has errors")
    db_session().commit()
    send_emails(outcome.notification_ids)
    return outcome


@blp.route("/users/import/template", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, content_type=XLSX, description="The roster template")
def import_template() -> Response:
    """An .xlsx with the columns and two example students"""
    return attachment(write_template(), XLSX, "students-template.xlsx")
