"""Numbers operators watch, computed at scrape time from the database and the broker, so
they are right whichever process (or machine) did the work."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.messaging import ALL_QUEUES
from shared.models import Attempt, AttemptStatus

log = logging.getLogger(__name__)
LATENCY_WINDOW = timedelta(minutes=5)
QUANTILES = (0.5, 0.9, 0.99)


@dataclass
class SystemState:
    attempts: dict[str, int] = field(default_factory=dict)
    oldest_ungraded_seconds: float = 0.0
    grading_latency: dict[float, float] = field(default_factory=dict)
    graded_in_window: int = 0
    queue_depth: dict[str, int] = field(default_factory=dict)


def system_state(session: Session, celery: Celery, now: datetime) -> SystemState:
    state = SystemState()
    for status in (AttemptStatus.IN_PROGRESS, AttemptStatus.SUBMITTED):
        state.attempts[status] = (
            session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.status == status)
            )
            or 0
        )
    oldest = session.scalar(
        select(func.min(Attempt.submitted_at)).where(Attempt.status == AttemptStatus.SUBMITTED)
    )
    state.oldest_ungraded_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    latencies = sorted(
        (graded - submitted).total_seconds()
        for submitted, graded in session.execute(
            select(Attempt.submitted_at, Attempt.graded_at).where(
                Attempt.graded_at >= now - LATENCY_WINDOW
            )
        )
        if submitted is not None
    )
    state.graded_in_window = len(latencies)
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        state.grading_latency = {q: cuts[int(q * 100) - 1] for q in QUANTILES}
    elif latencies:
        state.grading_latency = {q: latencies[0] for q in QUANTILES}
    state.queue_depth = queue_depths(celery)
    return state


def queue_depths(celery: Celery) -> dict[str, int]:
    """Messages waiting per queue (a declare is idempotent and returns the count)."""
    depths: dict[str, int] = {}
    try:
        with celery.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)
            with conn.channel() as channel:
                for queue in ALL_QUEUES:
                    ok = channel.queue_declare(queue=queue, durable=True, auto_delete=False)
                    depths[queue] = ok.message_count
    except Exception as exc:  # the broker is down: /readyz says so; metrics go without
        log.warning("queue depth unavailable: %s", exc)
    return depths
