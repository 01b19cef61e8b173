"""Results: a student's result, grading by hand, the grading queue, roster, exports, release."""

from web.resources.results.routes import blp

__all__ = ["blp"]
