"""Notification tasks: send one email (at most once), re-send lost ones, release results."""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta

from celery import Task

from shared import mail
from shared.db import transaction
from shared.messaging import TaskName, enqueue
from shared.models import utcnow
from shared.people import passwords
from shared.services import notifications
from worker import metrics
from worker.app import app, settings
from worker.tasks.grading import DATABASE_ERRORS

SEND_ERRORS = (OSError, smtplib.SMTPException)
log = logging.getLogger(__name__)


@app.task(
    name=TaskName.SEND_EMAIL,
    bind=True,
    autoretry_for=DATABASE_ERRORS,
    max_retries=notifications.MAX_EMAIL_ATTEMPTS,
    soft_time_limit=60,
    time_limit=90,
)
def send_email(self: Task, notification_id: str) -> str:
    """Email one notification. A failed send is retried with back-off; grading never waits."""
    with transaction(settings) as session:
        claim = notifications.claim_email(session, uuid.UUID(notification_id), utcnow())
    if claim is None:
        return "already sent, sending or given up"
    notification, to = claim
    body = notification.body
    if notification.kind == passwords.LINK_KIND:  # the link is made now, kept only as a hash
        with transaction(settings) as session:
            body = passwords.link_body(session, settings, notification, utcnow())
    message = mail.Mail(
        to=to,
        subject=notification.title,
        body=body,
        message_id=f"<{notification.id}@exam-backend>",
    )
    try:
        mail.send(settings, message)
    except mail.UnbuildableMail as exc:  # a retry would fail the same way
        _record_failure(notification.id, str(exc), final=True, reason="unbuildable")
        log.error("email %s could not be built: %r", notification.id, exc.__cause__)
        return "failed"
    except SEND_ERRORS as exc:
        final = self.request.retries >= notifications.MAX_EMAIL_ATTEMPTS
        _record_failure(notification.id, repr(exc), final=final, reason="send_error")
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=min(600, 5 * 2**self.request.retries)) from exc
    except Exception as exc:
        # Anything else (a bug, a time limit) is not retried, as it may have gone out; but
        # it is recorded, not left `sending` until the sweep guesses it was interrupted.
        _record_failure(notification.id, repr(exc), final=True, reason="unexpected")
        raise
    with transaction(settings) as session:
        notifications.email_sent(session, notification.id, utcnow())
    return "sent"


def _record_failure(notification_id: uuid.UUID, error: str, *, final: bool, reason: str) -> None:
    metrics.count_email_failure(reason)
    with transaction(settings) as session:
        notifications.email_failed(session, notification_id, error, final=final)


@app.task(name=TaskName.SEND_EMAILS)
def send_emails(notification_ids: list[str]) -> int:
    """Fan a batch out into one send task each (each claims its email: sent at most once)."""
    for notification_id in notification_ids:
        enqueue(app, TaskName.SEND_EMAIL, [notification_id])
    return len(notification_ids)


@app.task(name=TaskName.RESEND_EMAILS, autoretry_for=DATABASE_ERRORS, max_retries=3)
def resend_pending() -> int:
    """Emails whose task was lost (broker down when it was sent) are sent again; sends a
    crash interrupted are marked failed for an operator to see."""
    now = utcnow()
    with transaction(settings) as session:
        notifications.give_up_interrupted(session, now, timedelta(minutes=10))
        ids = notifications.unsent_emails(session, now, timedelta(minutes=2))
    for notification_id in ids:
        enqueue(app, TaskName.SEND_EMAIL, [str(notification_id)])
    return len(ids)


@app.task(name=TaskName.RELEASE_DUE_RESULTS, autoretry_for=DATABASE_ERRORS, max_retries=3)
def release_due_results() -> int:
    """`after_close` exams that have closed: tell their students the results are out."""
    now = utcnow()
    created: list[uuid.UUID] = []
    with transaction(settings) as session:
        for exam in notifications.exams_due_after_close(session, now):
            created += notifications.release_exam(session, exam, now)
    for notification_id in created:
        enqueue(app, TaskName.SEND_EMAIL, [str(notification_id)])
    return len(created)
