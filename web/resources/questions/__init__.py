"""The question bank, its spreadsheet import/export and template."""

from web.resources.questions.routes import blp

__all__ = ["blp"]
