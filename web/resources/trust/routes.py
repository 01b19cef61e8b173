"""Submission receipts and the audit trail."""

from __future__ import annotations

from web.security import Blueprint

blp = Blueprint(
    "trust", __name__, url_prefix="/api/v1", description="Submission receipts and the audit trail"
)
