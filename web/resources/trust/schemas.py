"""Receipt and audit shapes."""

import marshmallow as ma

_HEX64 = ma.validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex digits")


class ReceiptSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    student_id = ma.fields.String(required=True)
    submitted_at = ma.fields.String(
        required=True, metadata={"description": "UTC, six fraction digits: the signed text"}
    )
    answers_sha256 = ma.fields.String(
        required=True, metadata={"description": "SHA-256 (hex) of the final answers' encoding"}
    )
    signature = ma.fields.String(
        required=True,
        metadata={"description": "base64 Ed25519 over `attempt_id|submitted_at|answers_sha256`"},
    )
    key_id = ma.fields.String(
        metadata={"description": "Which key signed it: 16 hex digits of SHA-256 of the public key"}
    )


class ReceiptInSchema(ma.Schema):
    """A receipt as downloaded; every field is checked, none is trusted."""

    attempt_id = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    student_id = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    submitted_at = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    answers_sha256 = ma.fields.String(required=True, validate=ma.validate.Length(max=128))
    signature = ma.fields.String(required=True, validate=ma.validate.Length(max=200))
    key_id = ma.fields.String(validate=ma.validate.Length(max=64))


class VerdictSchema(ma.Schema):
    valid = ma.fields.Boolean(required=True)
    reason = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "When not valid: malformed, bad_signature, altered_field, "
            "unknown_attempt, superseded or answers_changed"
        },
    )
    detail = ma.fields.String(required=True)
    fields = ma.fields.List(ma.fields.String(), required=True)


class OldKeySchema(ma.Schema):
    key_id = ma.fields.String(required=True)
    public_key = ma.fields.String(required=True)


class PublicKeySchema(ma.Schema):
    algorithm = ma.fields.String(required=True, metadata={"example": "Ed25519"})
    public_key = ma.fields.String(
        required=True, metadata={"description": "base64 of the raw 32-byte public key"}
    )
    key_id = ma.fields.String(required=True)
    previous = ma.fields.List(
        ma.fields.Nested(OldKeySchema),
        metadata={"description": "Keys that signed receipts before a rotation (still checked)"},
    )


class BrokenLinkSchema(ma.Schema):
    attempt_id = ma.fields.String(required=True)
    event_id = ma.fields.Integer(required=True, allow_none=True)
    reason = ma.fields.String(
        metadata={
            "description": "altered, previous_missing_or_changed, unchained or "
            "anchored_event_missing_or_changed"
        }
    )


class AnchorCheckSchema(ma.Schema):
    id = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    root = ma.fields.String(required=True, validate=_HEX64)
    matches = ma.fields.Boolean(
        required=True, metadata={"description": "Every anchored head is still in its chain"}
    )


class AuditReportSchema(ma.Schema):
    ok = ma.fields.Boolean(required=True)
    chains = ma.fields.Integer(required=True)
    events = ma.fields.Integer(required=True, metadata={"description": "Chained events checked"})
    first_broken = ma.fields.Nested(BrokenLinkSchema, allow_none=True, required=True)
    root = ma.fields.String(
        required=True, metadata={"description": "Merkle root over the chain heads now"}
    )
    broken = ma.fields.List(
        ma.fields.Nested(BrokenLinkSchema), metadata={"description": "Up to 100 broken links"}
    )
    anchor = ma.fields.Nested(
        AnchorCheckSchema, allow_none=True, metadata={"description": "The last anchor, checked"}
    )


class AnchorSchema(ma.Schema):
    id = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    root = ma.fields.String(required=True)
    chains = ma.fields.Integer(required=True)
    events = ma.fields.Integer(required=True)
