"""Item analysis and review flags of an exam."""

from web.resources.analysis.routes import blp

__all__ = ["blp"]
