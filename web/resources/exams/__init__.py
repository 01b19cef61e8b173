"""Exams: authoring, lifecycle, accommodations, and the student's list."""

from web.resources.exams.routes import blp

__all__ = ["blp"]
