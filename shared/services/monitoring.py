"""Numbers operators watch, computed at scrape time from the database, the broker and the
heartbeats in Redis, so they are right whichever process (or machine) did the work."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from celery import Celery, signals
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.messaging import ALL_QUEUES
from shared.models import Attempt, AttemptStatus

log = logging.getLogger(__name__)
GRADED_WINDOW = timedelta(minutes=5)
# Beat sends this on its schedule; the worker that runs it records the time (worker/app.py).
BEAT_HEARTBEAT_TASK = "ops.record_beat_heartbeat"
# A message header: when it was published, so the oldest waiting message's age is known.
SENT_AT_HEADER = "sent_at"
# A worker whose heartbeat is older than this is not counted in exam_workers{queue}.
WORKER_ALIVE_SECONDS = 60
# A worker gone this long without a clean shutdown is forgotten (scaled down, replaced).
WORKER_FORGET_SECONDS = 3600


@dataclass
class SystemState:
    attempts: dict[str, int] = field(default_factory=dict)
    oldest_ungraded_seconds: float = 0.0
    graded_in_window: int = 0
    broker_up: bool = False
    queue_depth: dict[str, int] = field(default_factory=dict)
    queue_oldest_seconds: dict[str, float] = field(default_factory=dict)
    beat_heartbeat: float | None = None
    worker_heartbeats: dict[str, float] = field(default_factory=dict)
    workers_per_queue: dict[str, int] = field(default_factory=dict)


def system_state(
    session: Session, celery: Celery, now: datetime, heartbeats: Heartbeats | None = None
) -> SystemState:
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
    state.graded_in_window = (
        session.scalar(
            select(func.count())
            .select_from(Attempt)
            .where(Attempt.graded_at >= now - GRADED_WINDOW)
        )
        or 0
    )
    state.queue_depth, state.queue_oldest_seconds = queue_stats(celery, now.timestamp())
    state.broker_up = bool(state.queue_depth)
    if heartbeats is not None:
        heartbeats.read_into(state, now.timestamp())
    return state


def queue_depths(celery: Celery) -> dict[str, int]:
    """Messages waiting per queue (a declare is idempotent and returns the count)."""
    return queue_stats(celery, time.time())[0]


def queue_stats(celery: Celery, now: float) -> tuple[dict[str, int], dict[str, float]]:
    """Per queue: messages waiting and (Redis broker) the age of the oldest one, read from
    the `sent_at` header of the list's far end: one LINDEX per queue."""
    depths: dict[str, int] = {}
    oldest: dict[str, float] = {}
    try:
        with celery.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=1)
            with conn.channel() as channel:
                for queue in ALL_QUEUES:
                    ok = channel.queue_declare(queue=queue, durable=True, auto_delete=False)
                    depths[queue] = ok.message_count
                    if conn.transport.driver_type == "redis":
                        oldest[queue] = _oldest_age(channel, queue, now) if ok.message_count else 0
    except Exception as exc:  # the broker is down: /readyz says so; metrics go without
        log.warning("queue depth unavailable: %s", exc)
    return depths, oldest


def _oldest_age(channel: Any, queue: str, now: float) -> float:
    # kombu LPUSHes and BRPOPs, so the oldest message is the list's last element; LINDEX
    # is not among the commands kombu prefixes itself.
    prefix = getattr(channel, "global_keyprefix", "") or ""
    raw = channel.client.lindex(prefix + queue, -1)
    try:
        sent_at = float(json.loads(raw)["headers"][SENT_AT_HEADER])
    except (TypeError, ValueError, KeyError):  # gone meanwhile, or sent by an older version
        return 0.0
    return max(0.0, now - sent_at)


def _stamp_sent_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None:
        headers[SENT_AT_HEADER] = round(time.time(), 3)


def connect_sent_at_stamp() -> None:
    """Every task published from this process carries its publish time (web and worker)."""
    signals.before_task_publish.connect(_stamp_sent_at, weak=False, dispatch_uid="exam-sent-at")


class Heartbeats:
    """Beat's and each worker's last sign of life, in Redis: every API instance reads the
    same values, and a worker or beat on any machine writes them."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._beat = f"{prefix}exam:heartbeat:beat"
        self._workers = f"{prefix}exam:heartbeat:workers"

    @classmethod
    def from_settings(cls, settings: Settings) -> Heartbeats | None:
        """None in embedded mode (no Redis): heartbeats then go unreported."""
        url = settings.cache_url
        return cls(url, settings.redis_prefix("cache")) if url else None

    def beat(self, now: float) -> None:
        self._client.set(self._beat, repr(now))

    def worker(self, hostname: str, queues: list[str], now: float) -> None:
        self._client.hset(self._workers, hostname, json.dumps({"at": now, "queues": queues}))

    def worker_gone(self, hostname: str) -> None:
        self._client.hdel(self._workers, hostname)

    def read_into(self, state: SystemState, now: float) -> None:
        try:
            beat = self._client.get(self._beat)
            workers = self._client.hgetall(self._workers)
        except redis.RedisError as exc:
            log.warning("heartbeats unavailable: %s", exc)
            return
        state.beat_heartbeat = float(beat) if beat else None
        state.workers_per_queue = dict.fromkeys(ALL_QUEUES, 0)
        for name, raw in workers.items():
            entry = json.loads(raw)
            if now - entry["at"] > WORKER_FORGET_SECONDS:
                self._client.hdel(self._workers, name)
                continue
            state.worker_heartbeats[name.decode()] = entry["at"]
            if now - entry["at"] <= WORKER_ALIVE_SECONDS:
                for queue in entry["queues"]:
                    state.workers_per_queue[queue] = state.workers_per_queue.get(queue, 0) + 1
