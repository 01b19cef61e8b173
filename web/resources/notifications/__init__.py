"""The signed-in user's notifications."""

from web.resources.notifications.routes import blp

__all__ = ["blp"]
