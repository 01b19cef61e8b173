"""Webhook delivery from the outbox: one try per task, fan-out of a batch, the due sweep."""

from __future__ import annotations

import logging
import uuid

from shared.events import outbox, sender
from shared.messaging import TaskName, enqueue
from worker import metrics
from worker.app import app, settings
from worker.tasks.grading import DATABASE_ERRORS

log = logging.getLogger(__name__)

# Deliveries published by a task (grading, the expiry sweep) go out after its commit.
outbox.send_after_commit(outbox.celery_sender(app))


@app.task(
    name=TaskName.DELIVER_WEBHOOK,
    autoretry_for=DATABASE_ERRORS,
    max_retries=5,
    retry_backoff=1,
    soft_time_limit=120,
    time_limit=150,
)
def deliver(delivery_id: str) -> str:
    """Try one delivery if it is due (the claim makes a duplicate message a no-op); a
    retry soon is sent as a countdown, a later one is left to the sweep."""
    result = sender.deliver(settings, uuid.UUID(delivery_id))
    if result.outcome != "skipped":
        metrics.count_webhook_delivery(result.outcome)
    if result.outcome == "failed":  # given up: an operator should look at the receiver
        log.warning("webhook delivery %s failed for good (last answer %s)", delivery_id,
                    result.response_code)  # fmt: skip
    if result.retry_in is not None:
        enqueue(app, TaskName.DELIVER_WEBHOOK, [delivery_id], countdown=result.retry_in)
    return result.outcome


@app.task(name=TaskName.DELIVER_WEBHOOKS)
def deliver_many(delivery_ids: list[str]) -> int:
    """Fan a batch out into one task each: a slow receiver holds up only its own."""
    for delivery_id in delivery_ids:
        enqueue(app, TaskName.DELIVER_WEBHOOK, [delivery_id])
    return len(delivery_ids)


@app.task(name=TaskName.SEND_DUE_WEBHOOKS, autoretry_for=DATABASE_ERRORS, max_retries=3)
def send_due() -> int:
    """Beat: send the deliveries that are due and not on their way (retries left to the
    sweep, tasks lost with a broker outage, tries a crash interrupted)."""
    ids = sender.sweep(settings)
    for delivery_id in ids:
        enqueue(app, TaskName.DELIVER_WEBHOOK, [str(delivery_id)])
    return len(ids)
