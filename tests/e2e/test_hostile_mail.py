"""A title with CR/LF through the real path: API, a real Celery worker, a real SMTP server.
It used to leave the student's email stuck in `sending` (the message could not be built);
now it arrives with a one-line subject and no header the title tried to add."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shared.models import Notification
from tests.factories import login, make_exam, make_question, make_user
from tests.support.processes import wait_until
from tests.support.servers import SmtpInbox

pytestmark = pytest.mark.e2e


def test_an_exam_title_with_line_breaks_never_breaks_the_result_email(
    app, committed, settings, processes
):
    app.extensions["exam.session_factory"] = committed
    with committed() as session:
        exam = make_exam(
            session, questions=[make_question(session)], title="Finals\r\nBcc: eve@evil.test\x0b"
        )
        student = make_user(session, settings, full_name="Ada\r\nLovelace")
    client = app.test_client()
    headers = login(client, student)
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    answer = {"question_id": attempt["questions"][0]["id"], "response": "B"}
    url = f"/api/v1/attempts/{attempt['id']}/submit"
    assert client.post(url, json={"answers": [answer]}, headers=headers).status_code == 202
    with SmtpInbox() as inbox:
        processes.worker(SMTP_URL=inbox.url)
        wait_until(lambda: inbox.messages, 30, "the result email")
        wait_until(lambda: email_status(committed) == "sent", 10, "the send to be recorded")
    (message,) = inbox.messages
    assert message["Subject"] == "Your result for Finals Bcc: eve@evil.test"
    assert message["Bcc"] is None and message["To"] == student.email


def email_status(committed) -> str | None:  # type: ignore[no-untyped-def]
    with committed() as session:
        return session.scalar(select(Notification.email_status))
