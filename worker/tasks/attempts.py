"""Attempt tasks: the expiry sweep."""

from __future__ import annotations

from shared.db import transaction
from shared.messaging import TaskName
from shared.models import utcnow
from shared.services import expiry
from worker.app import app, settings

MAX_BATCHES_PER_RUN = 200  # 100,000 attempts; the next run picks up the rest


@app.task(name=TaskName.EXPIRE_OVERDUE)
def expire_overdue() -> int:
    """Submit every attempt whose deadline + grace has passed, batch by batch."""
    total = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with transaction(settings) as session:
            submitted = expiry.sweep(session, utcnow())
        total += len(submitted)
        if len(submitted) < expiry.SWEEP_BATCH:
            break
    return total
