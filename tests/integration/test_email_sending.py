"""The email task's body against the real database and a real SMTP server: a title with
line breaks is sent with a one-line subject, and a message that cannot be built ends
`failed` with its reason instead of sitting in `sending` (the task is called directly, in
this process; tests/e2e/test_hostile_mail.py runs the same through a real worker)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from shared import mail
from shared.models import Notification
from shared.services import notifications
from tests.factories import make_user
from tests.support.servers import SmtpInbox

TITLE = "Your result for Finals\r\nBcc: eve@evil.test\r\n\r\nfake body"


@pytest.fixture
def tasks(committed, settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The worker's notification tasks, sending to a real SMTP inbox."""
    import worker.tasks.notifications as tasks

    with SmtpInbox() as inbox:
        monkeypatch.setattr(tasks, "settings", settings.model_copy(update={"SMTP_URL": inbox.url}))
        tasks.inbox = inbox  # type: ignore[attr-defined]
        yield tasks


def notification(committed, settings, title: str) -> str:  # type: ignore[no-untyped-def]
    with committed() as session:
        student = make_user(session, settings).user
        created = notifications.notify(
            session, user_id=student.id, kind="result_released", title=title,
            body="You scored 1 / 1.", dedupe_key=f"test:{student.id}",
        )  # fmt: skip
        session.commit()
    return str(created)


def stored(committed, notification_id: str) -> Notification:  # type: ignore[no-untyped-def]
    with committed() as session:
        return session.get(Notification, notification_id)


def test_a_title_with_line_breaks_is_sent_with_a_one_line_subject(tasks, committed, settings):
    notification_id = notification(committed, settings, TITLE)
    assert tasks.send_email(notification_id) == "sent"
    (message,) = tasks.inbox.messages
    assert message["Subject"] == "Your result for Finals Bcc: eve@evil.test fake body"
    assert message["Bcc"] is None
    assert stored(committed, notification_id).email_status == "sent"


def test_an_email_that_cannot_be_built_is_failed_not_left_sending(
    tasks, committed, settings, monkeypatch
):
    class Unbuildable(EmailMessage):
        def set_content(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise ValueError("this content cannot be encoded")

    monkeypatch.setattr(mail, "EmailMessage", Unbuildable)
    notification_id = notification(committed, settings, "Your result for Finals")
    assert tasks.send_email(notification_id) == "failed"
    row = stored(committed, notification_id)
    assert row.email_status == "failed" and "could not be built" in row.email_error
    assert tasks.send_email(notification_id) == "already sent, sending or given up"
    assert tasks.inbox.messages == []


def test_an_unexpected_error_while_sending_is_recorded_not_left_sending(
    tasks, committed, settings, monkeypatch
):
    def broken(*_):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in the sender")

    monkeypatch.setattr(mail, "send", broken)
    notification_id = notification(committed, settings, "Your result for Finals")
    with pytest.raises(RuntimeError):
        tasks.send_email(notification_id)
    row = stored(committed, notification_id)
    assert row.email_status == "failed" and "a bug in the sender" in row.email_error
