"""The Celery client/app configuration and task names, shared by web (sender) and worker."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from shared.broker import redis_guard, sqlfanout
from shared.config import Settings


class TaskName:
    """Task names: web and beat send tasks by name, so web never imports worker."""

    PING = "ops.ping"
    PURGE_REVOKED_SESSIONS = "ops.purge_revoked_sessions"
    EXPIRE_OVERDUE = "attempts.expire_overdue"
    EXPIRE_ATTEMPT = "attempts.expire_attempt"
    FORCE_SUBMIT_EXAM = "attempts.force_submit_exam"
    GRADE_ATTEMPT = "grading.grade_attempt"
    RESEND_UNGRADED = "grading.resend_ungraded"
    SEND_EMAIL = "notifications.send_email"
    SEND_EMAILS = "notifications.send_emails"
    RESEND_EMAILS = "notifications.resend_pending"
    RELEASE_DUE_RESULTS = "notifications.release_due_results"
    START_REGRADE = "bulk.start_regrade"
    REGRADE_CHUNK = "bulk.regrade_chunk"
    START_ROLLBACK = "bulk.start_rollback"
    ROLLBACK_CHUNK = "bulk.rollback_chunk"
    RESUME_STALLED_JOBS = "bulk.resume_stalled_jobs"
    DELIVER_WEBHOOK = "webhooks.deliver"
    DELIVER_WEBHOOKS = "webhooks.deliver_many"
    SEND_DUE_WEBHOOKS = "webhooks.send_due"


class QueueName:
    DEFAULT = "default"
    GRADING = "grading"  # a student is waiting: never behind bulk work
    BULK = "bulk"  # regrades and exports


ALL_QUEUES = (QueueName.DEFAULT, QueueName.GRADING, QueueName.BULK)

# Longest time any task may run; the broker's visibility timeout must exceed it, or a
# long task would be delivered to a second worker while the first still runs it.
TASK_TIME_LIMIT_SECONDS = 600
# Long, because an expiry countdown waits unacked in a worker until the attempt's time is
# up. A task of a worker that died is redelivered only after this, but every kind of work
# also has a sweep that repairs it within seconds (see docs/architecture.md).
VISIBILITY_TIMEOUT_SECONDS = 6 * 3600
# Past the visibility timeout the broker would hand an ETA task to a second worker: longer
# countdowns (exams over 5.5 hours) are left to the periodic sweep.
MAX_COUNTDOWN_SECONDS = VISIBILITY_TIMEOUT_SECONDS - 1800


def celery_config(settings: Settings) -> dict[str, Any]:
    """Global Celery settings chosen for idempotent, short tasks."""
    transport_options: dict[str, Any] = {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS}
    result_options = dict(transport_options)
    # Every broker and result key under its concern's prefix (REDIS_KEY_PREFIX, and in the
    # single layout `broker:` / `results:` after it): kombu and Celery prepend it themselves.
    if settings.redis_prefix("broker"):
        transport_options["global_keyprefix"] = settings.redis_prefix("broker")
    if settings.redis_prefix("results"):
        result_options["global_keyprefix"] = settings.redis_prefix("results")
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.result_backend,
        "broker_transport_options": transport_options,
        "result_backend_transport_options": result_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.BROKER_PUBLISH_TIMEOUT_SECONDS,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        # A task is acked after it ran, so a killed worker's task is delivered again;
        # every task is idempotent, so a second run is a no-op.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_time_limit": TASK_TIME_LIMIT_SECONDS,
        "task_soft_time_limit": TASK_TIME_LIMIT_SECONDS - 30,
        "worker_prefetch_multiplier": 4,
        "task_default_queue": QueueName.DEFAULT,
        "task_queues": [Queue(name, Exchange(name), routing_key=name) for name in ALL_QUEUES],
        "task_routes": {
            # Time-critical: a student is waiting for a grade, or a timer ran out.
            "grading.*": {"queue": QueueName.GRADING},
            "attempts.*": {"queue": QueueName.GRADING},
            "bulk.*": {"queue": QueueName.BULK},
        },
        # Publishing gives up fast: the API answers and a sweep re-sends what didn't go out.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "result_expires": 86400,
        # Fire-and-forget: the database holds every outcome. (With a Redis backend every
        # send would otherwise subscribe the sender to a result channel.)
        "task_ignore_result": True,
        "worker_send_task_events": True,
        # No task-sent event: it is a second publish (a fanout) for every task sent, a third
        # of the cost of a submit's send; Flower shows a task from the worker's
        # task-received on, and queue depth comes from the broker, not from events.
        "task_send_sent_event": False,
        "worker_hijack_root_logger": False,
        "beat_schedule_filename": str(settings.VAR_DIR / "celerybeat-schedule"),
    }


log = logging.getLogger(__name__)


def enqueue(app: Celery, name: str, args: Sequence[Any] = (), **options: Any) -> bool:
    """Send a task by name after the commit that made its data visible.

    Never raises: if the broker is down, the sweep that owns this kind of work sends it
    again later (the database says what is still to do), so the request still succeeds."""
    try:
        app.send_task(name, args=list(args), ignore_result=True, **options)
    except Exception as exc:  # any broker failure; logged, repaired by a sweep
        log.warning("could not send %s%s: %s", name, tuple(args), exc)
        return False
    return True


EMAILS_PER_TASK = 500


def enqueue_emails(app: Celery, notification_ids: Sequence[Any]) -> None:
    """Many emails from a request: one task per 500, which sends each its own task from
    the worker, so a request that owes 5,000 emails doesn't spend seconds on the broker."""
    ids = [str(i) for i in notification_ids]
    for start in range(0, len(ids), EMAILS_PER_TASK):
        enqueue(app, TaskName.SEND_EMAILS, [ids[start : start + EMAILS_PER_TASK]])


def create_celery(settings: Settings, **kwargs: Any) -> Celery:
    """A Celery app configured from settings; the worker adds tasks, web only sends."""
    sqlfanout.register()
    redis_guard.register()
    app = Celery("exam", set_as_current=False, **kwargs)
    app.conf.update(celery_config(settings))
    return app
