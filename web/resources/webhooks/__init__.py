"""Webhook endpoints and their deliveries."""

from web.resources.webhooks.routes import blp

__all__ = ["blp"]
