"""Password links end to end against the real database: asked for over HTTP, made and
mailed by the send task (run in-process on committed data), spent once over HTTP."""

from __future__ import annotations

import email
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from shared.models import Notification, User, utcnow
from shared.people.models import PasswordToken
from tests.factories import bearer, login, login_tokens, make_user

LINK = re.compile(r"#/password/reset\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def live(app, committed):
    app.extensions["exam.session_factory"] = committed
    return app.test_client()


def _mailed_token(settings, committed, user_id) -> str:
    """Send the user's newest link email as the worker does; the token in its body."""
    from worker.tasks.notifications import send_email

    with committed() as session:
        notification_id = session.scalar(
            select(Notification.id)
            .where(Notification.user_id == user_id, Notification.kind == "password_link")
            .order_by(Notification.created_at.desc())
        )
    assert notification_id is not None
    assert send_email(str(notification_id)) == "sent"
    message = email.message_from_bytes((settings.mail_dir / f"{notification_id}.eml").read_bytes())
    body = message.get_payload(decode=True).decode()
    assert settings.public_url + "/#/password/reset?token=" in body
    return LINK.search(body).group(1)


def test_forgot_reset_and_every_old_session_ends(live, committed, settings):
    with committed() as session:
        account = make_user(session, settings)
    old = login_tokens(live, account)

    assert (
        live.post("/api/v1/auth/password/forgot", json={"email": account.email}).status_code == 202
    )
    token = _mailed_token(settings, committed, account.user.id)
    with committed() as session:  # only a hash is kept, nowhere the link itself
        dump = session.execute(text("SELECT token_sha256 FROM password_tokens")).scalars().all()
        bodies = session.scalars(select(Notification.body)).all()
        assert token not in dump and not any(token in b for b in bodies)

    reset = live.post(
        "/api/v1/auth/password/reset", json={"token": token, "password": "a brand new secret"}
    )
    assert reset.status_code == 204
    for stale in (old["access_token"], old["refresh_token"]):
        assert live.get("/api/v1/auth/me", headers=bearer(stale)).status_code == 401
    assert (
        live.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        ).status_code
        == 401
    )
    account.password = "a brand new secret"
    assert login(live, account)  # the new password works

    again = live.post(
        "/api/v1/auth/password/reset", json={"token": token, "password": "another one!"}
    )
    assert again.status_code == 422 and "token" in again.get_json()["errors"]["json"]


def test_an_unknown_address_gets_the_same_202_and_no_email(live, committed, settings):
    before = _count(committed, Notification)
    response = live.post("/api/v1/auth/password/forgot", json={"email": "nobody@school.test"})
    assert response.status_code == 202
    assert _count(committed, Notification) == before


def test_an_expired_or_superseded_link_is_refused(live, committed, settings):
    with committed() as session:
        account = make_user(session, settings)
    live.post("/api/v1/auth/password/forgot", json={"email": account.email})
    first = _mailed_token(settings, committed, account.user.id)
    with committed() as session:  # a minute later, another request: a second email
        session.execute(
            update(Notification)
            .where(Notification.user_id == account.user.id)
            .values(dedupe_key=Notification.dedupe_key + ":old")
        )
        session.commit()
    live.post("/api/v1/auth/password/forgot", json={"email": account.email})
    second = _mailed_token(settings, committed, account.user.id)
    body = {"token": first, "password": "a brand new secret"}
    assert live.post("/api/v1/auth/password/reset", json=body).status_code == 422  # superseded
    with committed() as session:
        session.execute(update(PasswordToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    body = {"token": second, "password": "a brand new secret"}
    assert live.post("/api/v1/auth/password/reset", json=body).status_code == 422  # expired


def test_an_admin_sends_a_reset_link(live, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role="admin")
        account = make_user(session, settings)
    headers = login(live, admin)
    sent = live.post(f"/api/v1/users/{account.user.id}/password-reset", headers=headers)
    assert sent.status_code == 202
    token = _mailed_token(settings, committed, account.user.id)
    reset = live.post(
        "/api/v1/auth/password/reset", json={"token": token, "password": "chosen by the student"}
    )
    assert reset.status_code == 204
    with committed() as session:
        assert session.get(User, account.user.id).password_hash.startswith("$argon2id$")


def _count(committed, model) -> int:
    with committed() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0
