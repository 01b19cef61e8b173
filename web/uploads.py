"""File uploads of the import routes: read within the size limit, and the 422 they share."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from werkzeug.datastructures import FileStorage

from web.errors import error_body


def read_upload(upload: FileStorage, max_bytes: int) -> bytes:
    """At most one byte past the limit (so the importer can say it is too large)."""
    try:
        return upload.stream.read(max_bytes + 1)
    finally:  # a large upload is spooled to a temporary file: close it now, not at GC
        upload.close()


def import_failed(report: dict[str, Any], message: str) -> Response:
    """The contract's import report inside the usual error shape, as a 422."""
    failed = jsonify({**error_body(422, "validation_error", message), **report})
    failed.status_code = 422
    return failed
