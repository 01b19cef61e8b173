"""The Celery app and its tasks: `celery -A worker worker|beat|flower`."""

from worker.app import app

__all__ = ["app"]
