"""Sending one email: through SMTP_URL, or as an .eml file under var/mail in embedded mode."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlparse

from shared.config import Settings

SMTP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    # Stable per notification, so a receiving server can recognise a duplicate.
    message_id: str


def build_message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mail.message_id
    message.set_content(mail.body)
    return message


def send(settings: Settings, mail: Mail) -> None:
    """Deliver or raise (OSError / smtplib.SMTPException): the caller decides on retries."""
    message = build_message(settings, mail)
    if settings.SMTP_URL is None:
        _write_eml(settings, mail, message)
        return
    url = urlparse(settings.SMTP_URL)
    options = parse_qs(url.query)
    host, port = url.hostname or "localhost", url.port
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port or 465, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port or 25, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if url.scheme == "smtp" and options.get("starttls", ["false"])[0].lower() == "true":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


def _write_eml(settings: Settings, mail: Mail, message: EmailMessage) -> None:
    folder = settings.mail_dir
    folder.mkdir(parents=True, exist_ok=True)
    name = mail.message_id.strip("<>").split("@", 1)[0]
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(bytes(message))
    tmp.replace(folder / f"{name}.eml")  # atomic: a reader never sees half a message
