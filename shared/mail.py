"""Sending one email: through SMTP_URL, or as an .eml file under var/mail in embedded mode."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.errors import MessageError
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


# Control characters, and every line break str.splitlines() knows (CR, LF, VT, FF, NEL,
# U+2028/9): in a header, a line break would start a header of the sender's choosing.
_NOT_IN_A_HEADER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class UnbuildableMail(ValueError):
    """These values cannot make a message; sending again would fail the same way."""


def header_value(text: str) -> str:
    """Text made safe for one header line: control characters and line breaks become spaces,
    runs of white space one space. A title with CR/LF stays one subject, not two headers."""
    return " ".join(_NOT_IN_A_HEADER.sub(" ", text).split())


def build_message(settings: Settings, mail: Mail) -> EmailMessage:
    """The message; UnbuildableMail if it cannot be built."""
    message = EmailMessage()
    try:
        message["From"] = header_value(settings.MAIL_FROM)
        message["To"] = header_value(mail.to)
        message["Subject"] = header_value(mail.subject)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = header_value(mail.message_id)
        message.set_content(mail.body)
    except (ValueError, TypeError, MessageError) as exc:
        raise UnbuildableMail(f"the message could not be built: {exc!r}") from exc
    return message


def send(settings: Settings, mail: Mail) -> None:
    """Deliver or raise: UnbuildableMail (never worth a retry), or OSError /
    smtplib.SMTPException (the server's trouble): the caller decides on retries."""
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
