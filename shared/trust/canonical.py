"""The one canonical JSON encoding that receipts and the audit chain hash, and the one
timestamp format they sign (docs/receipts-and-audit.md, "Canonical encoding")."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any


def _whole_floats_as_ints(value: Any) -> Any:
    # PostgreSQL's jsonb gives 1e16 back as 10000000000000000: a whole float is written as
    # the integer it is, so a value hashes the same before and after storage.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_whole_floats_as_ints(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys, no whitespace, non-ASCII as is, whole floats as ints."""
    return json.dumps(
        _whole_floats_as_ints(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def timestamp(value: datetime) -> str:
    """`2026-12-03T09:15:02.123456Z`: UTC, always six fraction digits."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(data).hexdigest()
