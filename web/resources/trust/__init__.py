"""Submission receipts and the audit trail."""

from web.resources.trust.routes import blp

__all__ = ["blp"]
