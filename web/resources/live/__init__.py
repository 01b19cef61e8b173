"""The proctor's live view of an exam: one object, and a stream of it."""

from web.resources.live.routes import blp

__all__ = ["blp"]
