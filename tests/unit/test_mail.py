"""Embedded mode: mail goes to var/mail as .eml files a person can open."""

from __future__ import annotations

from email import message_from_bytes

from shared import mail
from shared.config import load_settings


def test_without_smtp_url_mail_is_written_as_eml(tmp_path):
    settings = load_settings(
        VAR_DIR=str(tmp_path), SMTP_URL=None, DATABASE_URL=None, REDIS_URL=None
    )
    message = mail.Mail(
        to="ada@school.test", subject="Your result", body="You scored 3 / 4.",
        message_id="<0b9e4b4c-notification@exam-backend>",
    )  # fmt: skip
    mail.send(settings, message)
    files = list((tmp_path / "mail").glob("*.eml"))
    assert [f.name for f in files] == ["0b9e4b4c-notification.eml"]
    parsed = message_from_bytes(files[0].read_bytes())
    assert parsed["To"] == "ada@school.test" and parsed["Subject"] == "Your result"
    assert parsed["Message-ID"] == "<0b9e4b4c-notification@exam-backend>"
    assert "You scored 3 / 4." in parsed.get_payload()
    assert not list((tmp_path / "mail").glob(".*.tmp"))
