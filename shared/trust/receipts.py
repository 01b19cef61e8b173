"""Submission receipts: the digest of an attempt's final answers, written by the submission
itself, and an Ed25519 signature over `attempt_id|submitted_at|answers_sha256` that anyone
can check with the public key (docs/receipts-and-audit.md)."""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, String, bindparam, cast, select, update
from sqlalchemy.orm import Session

from shared.errors import Conflict
from shared.models.attempt import Answer, Attempt, AttemptStatus
from shared.trust.canonical import canonical_json, sha256_hex, timestamp

RECEIPT_FIELDS = ("attempt_id", "student_id", "submitted_at", "answers_sha256", "signature")


def answers_digest(question_order: list[str], responses: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of `[[question_id, response], ...]`: every question
    of the attempt, sorted by id, `null` for one never saved."""
    pairs = [[qid, responses.get(qid)] for qid in sorted(question_order)]
    return sha256_hex(canonical_json(pairs))


def stored_digests(
    connection: Connection,
    attempt_ids: list[uuid.UUID],
    orders: dict[uuid.UUID, list[str]] | None = None,
) -> dict[uuid.UUID, str]:
    """The digest of each attempt's answers as they are stored now: two queries in all, one
    if the caller read the attempts' `question_order` already."""
    a, ans = Attempt.__table__.c, Answer.__table__.c
    if orders is None:
        query = select(a.id, a.question_order).where(a.id.in_(attempt_ids))
        orders = {row.id: row.question_order for row in connection.execute(query)}
    else:
        orders = {i: orders[i] for i in attempt_ids if i in orders}
    responses: dict[str, dict[str, Any]] = {str(i): {} for i in orders}
    columns: tuple[Any, ...] = (ans.attempt_id, ans.question_id)
    if connection.dialect.name == "postgresql":
        # Ids as text: a deadline's sweep reads thousands of rows, each a UUID object otherwise
        # (SQLite keeps them as 32 hex digits: there they are read as UUIDs).
        columns = (cast(ans.attempt_id, String), cast(ans.question_id, String))
    rows = select(*columns, ans.response).where(ans.attempt_id.in_(attempt_ids))
    for attempt_id, question_id, response in connection.execute(rows):
        responses[str(attempt_id)][str(question_id)] = response
    return {i: answers_digest(order or [], responses[str(i)]) for i, order in orders.items()}


_SEAL = (
    update(Attempt.__table__)
    .where(Attempt.__table__.c.id == bindparam("b_id"))
    .values(answers_sha256=bindparam("b_digest"))
)


def seal(
    connection: Connection,
    attempt_ids: list[uuid.UUID],
    orders: dict[uuid.UUID, list[str]] | None = None,
) -> dict[uuid.UUID, str]:
    """Store the digest of the final answers with each just-submitted attempt (the caller's
    transaction, which holds the attempts' locks); returns the digests."""
    digests = stored_digests(connection, attempt_ids, orders)
    if digests:
        connection.execute(_SEAL, [{"b_id": i, "b_digest": d} for i, d in digests.items()])
    return digests


@functools.cache
def load_private_key(material: str) -> Ed25519PrivateKey:
    """A key given as base64 of the raw 32 bytes, or as the path of a PEM (PKCS#8) file."""
    try:
        raw = base64.b64decode(material.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = Path(material.strip())
    if not path.is_file():
        raise ValueError("RECEIPT_SIGNING_KEY is neither base64 of 32 bytes nor a PEM file")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("RECEIPT_SIGNING_KEY's PEM file is not an Ed25519 private key")
    return key


def verifying_key(material: str, public_b64: str | None = None) -> Ed25519PublicKey:
    """The configured key's public half, or the given base64 public key (an older one)."""
    if public_b64 is None:
        return load_private_key(material).public_key()
    try:
        raw = base64.b64decode(public_b64, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("the public key must be base64 of 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def keyring(material: str, previous: str = "") -> dict[str, Ed25519PublicKey]:
    """The public keys receipts may carry, by key_id: the signing key's first, then those of
    earlier signing keys (RECEIPT_PREVIOUS_PUBLIC_KEYS), so a rotation breaks no receipt."""
    keys = [load_private_key(material).public_key()]
    keys += [verifying_key(material, b64.strip()) for b64 in previous.split(",") if b64.strip()]
    return {key_id(k): k for k in keys}


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """Base64 of the raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short name of the key pair (the first 16 hex digits of SHA-256 of the public key),
    so a receipt says which key signed it once keys rotate."""
    return sha256_hex(base64.b64decode(public_key_b64(key)))[:16]


def signed_message(attempt_id: str, submitted_at: str, answers_sha256: str) -> bytes:
    """What the signature covers: the UTF-8 bytes of `attempt_id|submitted_at|digest`."""
    return f"{attempt_id}|{submitted_at}|{answers_sha256}".encode()


def receipt(attempt: Attempt, key: Ed25519PrivateKey) -> dict[str, str]:
    """The signed receipt of a submitted attempt; Conflict while it is still running."""
    if attempt.status == AttemptStatus.IN_PROGRESS or attempt.submitted_at is None:
        raise Conflict("this attempt is not submitted yet: no receipt")
    if attempt.answers_sha256 is None:  # submitted before receipts existed
        raise Conflict("this attempt was submitted before receipts were issued")
    submitted_at = timestamp(attempt.submitted_at)
    message = signed_message(str(attempt.id), submitted_at, attempt.answers_sha256)
    return {
        "attempt_id": str(attempt.id),
        "student_id": str(attempt.student_id),
        "submitted_at": submitted_at,
        "answers_sha256": attempt.answers_sha256,
        "signature": base64.b64encode(key.sign(message)).decode(),
        "key_id": key_id(key),
    }


@dataclass
class Verdict:
    """The outcome of checking a receipt; `reason` is a machine code when not valid."""

    valid: bool
    reason: str | None = None
    detail: str = "the receipt is genuine and matches the stored answers"
    fields: list[str] = field(default_factory=list)


def _signature_ok(public: Ed25519PublicKey, signature: str, message: bytes) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def _malformed(data: Any) -> Verdict | None:
    if not isinstance(data, dict):
        return Verdict(False, "malformed", "a receipt is a JSON object")
    missing = [f for f in RECEIPT_FIELDS if not isinstance(data.get(f), str)]
    if missing:
        return Verdict(False, "malformed", "missing or not text: " + ", ".join(missing), missing)
    try:
        uuid.UUID(data["attempt_id"])
    except ValueError:
        return Verdict(False, "malformed", "attempt_id is not an id", ["attempt_id"])
    return None


def verify(
    session: Session, data: Any, keys: Ed25519PublicKey | dict[str, Ed25519PublicKey]
) -> Verdict:
    """Check a receipt's signature (with the key its key_id names, else the first), then that
    it matches the attempt as stored, then that the stored answers still hash to the signed
    digest. Says nothing about the answers."""
    problem = _malformed(data)
    if problem:
        return problem
    keys = keys if isinstance(keys, dict) else {key_id(keys): keys}
    public = keys.get(data.get("key_id") or "") or next(iter(keys.values()))
    attempt = session.get(Attempt, uuid.UUID(data["attempt_id"]))
    message = signed_message(data["attempt_id"], data["submitted_at"], data["answers_sha256"])
    if not _signature_ok(public, data["signature"], message):
        return _why_not_signed(attempt, data, public)
    if attempt is None:
        return Verdict(False, "unknown_attempt", "no submitted attempt has this id here")
    if data["student_id"] != str(attempt.student_id):
        return Verdict(False, "altered_field", "student_id is not the attempt's", ["student_id"])
    if attempt.submitted_at is None or data["submitted_at"] != timestamp(attempt.submitted_at):
        return Verdict(
            False,
            "superseded",
            "the attempt was reopened after this receipt (and maybe submitted again)",
            ["submitted_at"],
        )
    now = stored_digests(session.connection(), [attempt.id]).get(attempt.id)
    if now != data["answers_sha256"] or attempt.answers_sha256 != data["answers_sha256"]:
        return Verdict(
            False, "answers_changed", "the stored answers no longer match the signed digest"
        )
    return Verdict(True)


def _why_not_signed(
    attempt: Attempt | None, data: dict[str, Any], public: Ed25519PublicKey
) -> Verdict:
    """A bad signature: if it is ours over the attempt's stored values, name the fields
    someone changed; otherwise it was forged (or made with another key)."""
    if attempt is not None and attempt.submitted_at is not None and attempt.answers_sha256:
        stored = {
            "submitted_at": timestamp(attempt.submitted_at),
            "answers_sha256": attempt.answers_sha256,
        }
        message = signed_message(str(attempt.id), stored["submitted_at"], stored["answers_sha256"])
        if _signature_ok(public, data["signature"], message):
            changed = [f for f, v in stored.items() if data[f] != v]
            return Verdict(
                False, "altered_field", "changed after signing: " + ", ".join(changed), changed
            )
    return Verdict(
        False,
        "bad_signature",
        "the signature does not match attempt_id|submitted_at|answers_sha256 under this key",
        ["signature"],
    )
