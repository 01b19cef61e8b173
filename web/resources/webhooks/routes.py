"""Webhook endpoints and their deliveries."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from shared.events import deliveries, endpoints, targets
from shared.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from shared.models import Role, utcnow
from web.errors import ErrorSchema
from web.extensions import db_session, settings
from web.resources.webhooks.schemas import (
    DeliverySchema,
    WebhookCreatedSchema,
    WebhookInSchema,
    WebhookPatchSchema,
    WebhookSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Webhook endpoints and their deliveries",
)
REFUSED = "The URL is refused (not https, or on an internal address) or a field is invalid"


def _allowed() -> list[str]:
    return targets.allowed_patterns(settings().WEBHOOK_ALLOWED_HOSTS)


def delivery_view(delivery: WebhookDelivery, event_type: str) -> dict[str, Any]:
    """A delivery as the log shows it; next_try_at only while one is to come."""
    waiting = delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event": event_type,
        "status": delivery.status,
        "response_code": delivery.response_code,
        "error": delivery.last_error,
        "tries": delivery.tries,
        "created_at": delivery.created_at,
        "next_try_at": delivery.next_try_at if waiting else None,
        "delivered_at": delivery.delivered_at,
    }


@blp.route("")
class WebhookList(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, WebhookSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[WebhookEndpoint]:
        """Webhook endpoints, oldest first"""
        found, total = endpoints.listing(
            db_session(),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return found

    @blp.auth(Role.ADMIN)
    @blp.arguments(WebhookInSchema)
    @blp.response(201, WebhookCreatedSchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    def post(self, data: dict[str, Any]) -> WebhookEndpoint:
        """Register an endpoint; the response carries its signing secret, shown only once"""
        endpoint = endpoints.create(db_session(), **data, allowed_hosts=_allowed(), now=utcnow())
        db_session().commit()
        return endpoint


@blp.route("/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id: uuid.UUID) -> WebhookEndpoint:
        """One endpoint (never its secret)"""
        return endpoints.get(db_session(), webhook_id)

    @blp.auth(Role.ADMIN)
    @blp.arguments(WebhookPatchSchema)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(422, schema=ErrorSchema, description=REFUSED)
    def patch(self, data: dict[str, Any], webhook_id: uuid.UUID) -> WebhookEndpoint:
        """Change an endpoint's URL, events or whether it is active; the secret stays"""
        endpoint = endpoints.change(
            db_session(), webhook_id, data, allowed_hosts=_allowed(), now=utcnow()
        )
        db_session().commit()
        return endpoint

    @blp.auth(Role.ADMIN)
    @blp.response(204)
    def delete(self, webhook_id: uuid.UUID) -> None:
        """Delete an endpoint: nothing more is sent to it"""
        endpoints.remove(db_session(), webhook_id, utcnow())
        db_session().commit()


@blp.route("/<uuid:webhook_id>/deliveries", methods=["GET"])
@blp.auth(Role.ADMIN)
@blp.response(200, DeliverySchema(many=True))
@blp.paginate()
def list_deliveries(webhook_id: uuid.UUID, pagination_parameters: Any) -> list[dict[str, Any]]:
    """An endpoint's deliveries, newest first: status, tries, the receiver's answer"""
    endpoints.get(db_session(), webhook_id)
    rows, total = deliveries.log(
        db_session(),
        webhook_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return [delivery_view(delivery, event_type) for delivery, event_type in rows]


@blp.route("/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/redeliver", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(202, DeliverySchema)
@blp.alt_response(409, schema=ErrorSchema, description="The endpoint is inactive")
def redeliver(_: dict[str, Any], webhook_id: uuid.UUID, delivery_id: uuid.UUID) -> dict[str, Any]:
    """Send a delivery's event again (same event id), as a new delivery in the log"""
    session = db_session()
    delivery = deliveries.redeliver(session, webhook_id, delivery_id, utcnow())
    event_type = deliveries.event_type(session, delivery.event_id)
    session.commit()
    return delivery_view(delivery, event_type)
