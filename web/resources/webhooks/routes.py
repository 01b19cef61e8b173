"""Webhook endpoints and their deliveries."""

from __future__ import annotations

from web.security import Blueprint

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Webhook endpoints and their deliveries",
)
