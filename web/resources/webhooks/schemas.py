"""Webhook request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.events.models import EVENT_TYPES, MAX_URL

EVENTS = ma.fields.List(
    ma.fields.String(validate=validate.OneOf(EVENT_TYPES)),
    validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    metadata={"description": "Event types to receive: " + ", ".join(EVENT_TYPES)},
)


class WebhookInSchema(ma.Schema):
    url = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_URL),
        metadata={
            "description": "Where to POST events: https, on a public address "
            "(http and internal addresses only for hosts in WEBHOOK_ALLOWED_HOSTS)"
        },
    )
    events = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata=EVENTS.metadata,
    )
    active = ma.fields.Boolean(load_default=True)


class WebhookPatchSchema(WebhookInSchema):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(partial=True, **kwargs)


class WebhookSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    url = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    active = ma.fields.Boolean(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    updated_at = ma.fields.AwareDateTime(required=True)


class WebhookCreatedSchema(WebhookSchema):
    secret = ma.fields.String(
        required=True,
        metadata={
            "description": "Signs every delivery (X-Exam-Signature); shown only now, never again"
        },
    )


class DeliverySchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    event_id = ma.fields.UUID(
        required=True, metadata={"description": "Sent as X-Exam-Delivery: receivers dedupe on it"}
    )
    event = ma.fields.String(required=True, metadata={"description": "The event type"})
    status = ma.fields.String(
        required=True, validate=validate.OneOf(("pending", "sending", "delivered", "failed"))
    )
    response_code = ma.fields.Integer(
        allow_none=True, metadata={"description": "The receiver's last HTTP status"}
    )
    error = ma.fields.String(
        allow_none=True, metadata={"description": "Why the last try failed without a status"}
    )
    tries = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    next_try_at = ma.fields.AwareDateTime(allow_none=True)
    delivered_at = ma.fields.AwareDateTime(allow_none=True)
