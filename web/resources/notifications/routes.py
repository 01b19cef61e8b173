"""Notifications routes."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma

from shared.models import Notification, utcnow
from shared.services import notifications
from web.extensions import db_session
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1/notifications", description="Notifications"
)


class NotificationSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    body = ma.fields.String(required=True)
    data = ma.fields.Dict(allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    read_at = ma.fields.AwareDateTime(allow_none=True)


@blp.route("", methods=["GET"])
@blp.auth()
@blp.response(200, NotificationSchema(many=True))
@blp.paginate()
def list_notifications(pagination_parameters: Any) -> list[Notification]:
    """My notifications, newest first"""
    rows, total = notifications.for_user(
        db_session(),
        current_identity().user_id,
        offset=pagination_parameters.first_item,
        limit=pagination_parameters.page_size,
    )
    pagination_parameters.item_count = total
    return rows


@blp.route("/<uuid:notification_id>/read", methods=["POST"])
@blp.auth()
@blp.arguments(NoBodySchema)
@blp.response(204)
def mark_read(_: dict[str, Any], notification_id: uuid.UUID) -> None:
    """Mark one of my notifications as read"""
    notifications.mark_read(db_session(), current_identity().user_id, notification_id, utcnow())
    db_session().commit()
