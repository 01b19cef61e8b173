"""Exam day: extend, force-submit and reopen attempts while an exam runs."""

from web.resources.examday.routes import blp

__all__ = ["blp"]
