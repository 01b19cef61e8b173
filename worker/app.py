"""Celery app configured from the shared settings, plus the beat schedule and signals."""

from __future__ import annotations

from typing import Any

from celery import signals
from celery.schedules import crontab

from shared.config import get_settings
from shared.db import dispose_engines
from shared.interop.lti import LtiTask
from shared.logs import configure_logging, connect_task_request_ids
from shared.messaging import TaskName, create_celery
from shared.services.monitoring import BEAT_HEARTBEAT_TASK, connect_sent_at_stamp
from shared.trust.audit import ANCHOR_TASK
from worker import metrics

settings = get_settings()
TASK_MODULES = ["ops", "attempts", "grading", "notifications", "bulk", "webhooks", "lti", "trust"]
app = create_celery(settings, include=[f"worker.tasks.{name}" for name in TASK_MODULES])

app.conf.beat_schedule = {
    "expire-overdue-attempts": {
        "task": TaskName.EXPIRE_OVERDUE,
        "schedule": float(settings.EXPIRY_SWEEP_SECONDS),
        # A sweep nobody ran in time is replaced by the next one, never queued up.
        "options": {"expires": float(settings.EXPIRY_SWEEP_SECONDS)},
    },
    "resend-ungraded": {
        "task": TaskName.RESEND_UNGRADED,
        "schedule": float(settings.GRADING_SWEEP_SECONDS),
        "options": {"expires": float(settings.GRADING_SWEEP_SECONDS)},
    },
    "release-due-results": {"task": TaskName.RELEASE_DUE_RESULTS, "schedule": 30.0},
    "resend-pending-emails": {"task": TaskName.RESEND_EMAILS, "schedule": 60.0},
    "resume-stalled-jobs": {"task": TaskName.RESUME_STALLED_JOBS, "schedule": 60.0},
    "send-due-webhooks": {
        "task": TaskName.SEND_DUE_WEBHOOKS,
        "schedule": float(settings.WEBHOOK_SWEEP_SECONDS),
        "options": {"expires": float(settings.WEBHOOK_SWEEP_SECONDS)},
    },
    "purge-revoked-sessions": {
        "task": TaskName.PURGE_REVOKED_SESSIONS,
        "schedule": crontab(minute=17),
    },
    # exam_beat_heartbeat_timestamp_seconds: beat is alive and its sends are run.
    "beat-heartbeat": {
        "task": BEAT_HEARTBEAT_TASK,
        "schedule": float(settings.BEAT_HEARTBEAT_SECONDS),
        "options": {"expires": float(settings.BEAT_HEARTBEAT_SECONDS)},
    },
    # LTI grade passback: posts written with a released result go out from here.
    "send-due-lti-grades": {
        "task": LtiTask.SEND_DUE_GRADES,
        "schedule": float(settings.LTI_GRADE_SWEEP_SECONDS),
        "options": {"expires": float(settings.LTI_GRADE_SWEEP_SECONDS)},
    },
    "purge-expired-lti-codes": {"task": LtiTask.PURGE_EXPIRED, "schedule": crontab(minute=41)},
    # Merkle roots of the exams' audit chains (docs/receipts-and-audit.md).
    "anchor-audit-chains": {
        "task": ANCHOR_TASK,
        "schedule": float(settings.AUDIT_ANCHOR_SECONDS),
        "options": {"expires": float(settings.AUDIT_ANCHOR_SECONDS)},
    },
}


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    # Connecting here stops Celery from installing its own handlers: one JSON format everywhere.
    configure_logging(settings, "worker")


@signals.worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked child must not share the parent's pooled database connections.
    dispose_engines()


# Each task's log lines carry the request id of the request that sent it (or its own id).
connect_task_request_ids(worker=True)
connect_sent_at_stamp()
metrics.connect(settings)
if settings.OTEL_ENABLED:  # imported only when asked for: the `otel` extra
    from shared.tracing import trace_celery

    trace_celery()
