"""Embedded mode: mail goes to var/mail as .eml files a person can open; whatever the
titles hold, every header stays one line."""

from __future__ import annotations

from email import message_from_bytes

import pytest

from shared import mail
from shared.config import load_settings
from tests.support.servers import SmtpInbox


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


HOSTILE_SUBJECT = (
    "Your result for Finals\r\nBcc: eve@evil.test\r\n\r\nfake body\x00\x1b\x85\u2028end\t"
)


def test_line_breaks_and_control_characters_never_leave_the_subject_line(tmp_path):
    """A title with CR/LF (or any line break Python knows) used to make the message
    unbuildable; a careless builder would have let it add a Bcc header."""
    with SmtpInbox() as inbox:
        settings = load_settings(
            VAR_DIR=str(tmp_path), SMTP_URL=inbox.url, DATABASE_URL=None, REDIS_URL=None
        )
        message = mail.Mail(
            to="ada@school.test", subject=HOSTILE_SUBJECT, body="Line one\r\nline two\n",
            message_id="<1f00-notification@exam-backend>",
        )  # fmt: skip
        mail.send(settings, message)
    (received,) = inbox.messages
    assert received["Subject"] == "Your result for Finals Bcc: eve@evil.test fake body end"
    assert received["Bcc"] is None and received["To"] == "ada@school.test"
    assert received.get_payload().splitlines() == ["Line one", "line two"]


def test_header_value_collapses_what_cannot_be_in_one_header_line():
    assert mail.header_value(" a\r\n\tb\x0bc\x0cd\x1ce\x85f\u2028g\u2029h\x7fi  ") == (
        "a b c d e f g h i"
    )
    assert mail.header_value("Café — 第1回") == "Café — 第1回"  # text itself is kept


def test_a_message_that_cannot_be_built_says_so(tmp_path, monkeypatch):
    settings = load_settings(
        VAR_DIR=str(tmp_path), SMTP_URL=None, DATABASE_URL=None, REDIS_URL=None
    )
    message = mail.Mail(to="ada@school.test", subject="Hi", body="\udc80", message_id="<x@y>")
    with pytest.raises(mail.UnbuildableMail):  # a lone surrogate cannot be encoded
        mail.send(settings, message)
    assert not list((tmp_path / "mail").glob("*"))
