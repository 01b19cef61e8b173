"""Bulk regrades and tracked jobs."""

from web.resources.jobs.routes import blp

__all__ = ["blp"]
