"""Test data builders: real rows through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.models import Role, User
from shared.services.users import create_user

DEFAULT_PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@dataclass
class Account:
    user: User
    password: str

    @property
    def email(self) -> str:
        return self.user.email


def make_user(
    session: Session,
    settings: Settings,
    *,
    role: str = Role.STUDENT,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str | None = None,
) -> Account:
    n = next(_counter)
    user = create_user(
        session,
        settings,
        email=email or f"{role}{n}@school.test",
        password=password,
        full_name=full_name or f"{role.title()} {n}",
        role=role,
    )
    session.commit()
    return Account(user=user, password=password)


def login(client: FlaskClient, account: Account) -> dict[str, str]:
    """Log in over HTTP; returns the Authorization header for the access token."""
    tokens = login_tokens(client, account)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def login_tokens(client: FlaskClient, account: Account) -> dict:
    response = client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
