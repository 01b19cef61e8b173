"""The body of a webhook POST and its signature (HMAC-SHA256 of the raw body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

SIGNATURE_PREFIX = "sha256="


def new_secret() -> str:
    """A fresh signing secret: 256 bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def body(event_id: uuid.UUID, event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The POST body `{id, type, created_at, data}` as sent, byte for byte, and signed."""
    document = {
        "id": str(event_id),
        "type": event_type,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, raw_body: bytes) -> str:
    """`X-Exam-Signature`: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    digest = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(secret: str, raw_body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(signature(secret, raw_body), header)
