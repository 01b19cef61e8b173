"""Taking an exam: start, autosave, resume, submit, status."""

from web.resources.attempts.routes import blp

__all__ = ["blp"]
