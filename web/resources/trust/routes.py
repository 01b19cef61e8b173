"""Submission receipts and the audit trail."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from shared.models import Role, utcnow
from shared.trust import audit, receipts
from shared.trust.models import AuditAnchor
from web.attempt_tasks import load_settled
from web.errors import ErrorSchema
from web.extensions import client_address, db_session, limiter, settings
from web.resources.trust.schemas import (
    AnchorSchema,
    AuditReportSchema,
    PublicKeySchema,
    ReceiptInSchema,
    ReceiptSchema,
    VerdictSchema,
)
from web.security import Blueprint

blp = Blueprint(
    "trust", __name__, url_prefix="/api/v1", description="Submission receipts and the audit trail"
)


def _key() -> Any:
    return receipts.load_private_key(settings().receipt_signing_key())


def _keyring() -> dict[str, Any]:
    config = settings()
    return receipts.keyring(config.receipt_signing_key(), config.RECEIPT_PREVIOUS_PUBLIC_KEYS)


@blp.route("/attempts/<uuid:attempt_id>/receipt", methods=["GET"])
@blp.auth()
@blp.response(200, ReceiptSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The attempt is not submitted yet")
def receipt(attempt_id: uuid.UUID) -> dict[str, str]:
    """The signed receipt of a submitted attempt (its student or an admin)"""
    return receipts.receipt(load_settled(attempt_id, utcnow(), lock=False), _key())


@blp.route("/receipts/public-key", methods=["GET"])
@blp.response(200, PublicKeySchema)
def public_key() -> dict[str, str]:
    """The Ed25519 public key that checks receipts"""
    key, ring = _key(), _keyring()
    return {
        "algorithm": "Ed25519",
        "public_key": receipts.public_key_b64(key),
        "key_id": receipts.key_id(key),
        "previous": [
            {"key_id": i, "public_key": receipts.public_key_b64(k)}
            for i, k in ring.items()
            if i != receipts.key_id(key)
        ],
    }


@blp.route("/receipts/verify", methods=["POST"])
# Open to anyone and it reads answers to recompute a digest: one address can't keep it busy.
@limiter.limit(lambda: settings().RECEIPT_VERIFY_PER_ADDRESS, key_func=client_address)
@blp.arguments(ReceiptInSchema)
@blp.response(200, VerdictSchema)
@blp.alt_response(429, schema=ErrorSchema, description="Too many checks from this address")
def verify_receipt(data: dict[str, Any]) -> dict[str, Any]:
    """Check a receipt: genuine, and still matching the stored answers (never shows them)"""
    return asdict(receipts.verify(db_session(), data, _keyring()))


@blp.route("/exams/<uuid:exam_id>/audit/verify", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, AuditReportSchema)
def verify_audit(exam_id: uuid.UUID) -> dict[str, Any]:
    """Recompute every attempt's event chain and the root; the first broken link, if any"""
    return asdict(audit.verify_exam(db_session(), exam_id))


@blp.route("/exams/<uuid:exam_id>/audit/anchors", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, AnchorSchema(many=True))
def list_anchors(exam_id: uuid.UUID) -> list[AuditAnchor]:
    """The exam's last 50 anchors (Merkle roots over its chain heads), newest first"""
    return audit.anchors(db_session(), exam_id)
