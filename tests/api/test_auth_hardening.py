"""Accounts and tokens against a hostile classmate: throttling that can't lock others out,
refresh tokens that rotate, tokens of users who are gone, passwords and look-alike emails."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from shared.config import load_settings
from shared.models import User
from tests.conftest import TEST_JWT_SECRET
from tests.factories import bearer, login_tokens, make_user

LOGIN = "/api/v1/auth/login"
ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
SCHOOL = {"REMOTE_ADDR": "198.51.100.10"}


def _login(client, email, password, address):
    return client.post(LOGIN, json={"email": email, "password": password}, environ_base=address)


class TestLoginThrottling:
    def test_one_address_failing_cannot_lock_the_owner_out(self, client, student):
        for _ in range(5):
            assert _login(client, student.email, "guess-guess", ATTACKER).status_code == 401
        blocked = _login(client, student.email, student.password, ATTACKER)
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        # The owner, from the school's address, signs in at once.
        assert _login(client, student.email, student.password, SCHOOL).status_code == 200

    def test_one_client_cannot_lock_a_whole_class(self, client, session, settings):
        classmates = [make_user(session, settings) for _ in range(20)]
        for account in classmates:
            for _ in range(6):
                _login(client, account.email, "nope-nope-nope", ATTACKER)
        for account in classmates:
            assert _login(client, account.email, account.password, SCHOOL).status_code == 200

    def test_the_per_account_ceiling_slows_many_addresses_and_then_lets_go(
        self, settings, db, session
    ):
        from web import create_app

        # A short window, so the test can wait it out on Redis's own clock.
        app = create_app(load_settings(LOGIN_FAILURES_PER_ACCOUNT="8 per 2 seconds"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        victim = make_user(session, settings)
        for n in range(8):  # a botnet: each address stays under its own limit
            address = {"REMOTE_ADDR": f"203.0.113.{n + 1}"}
            assert _login(client, victim.email, "wrong-wrong", address).status_code == 401
        slowed = _login(client, victim.email, victim.password, SCHOOL)
        assert slowed.status_code == 429
        assert slowed.get_json()["error"] == "rate_limited"
        assert 0 < int(slowed.headers["Retry-After"]) <= 2
        time.sleep(2.1)  # slowed, never locked
        assert _login(client, victim.email, victim.password, SCHOOL).status_code == 200


class TestRefreshRotation:
    def _refresh(self, client, refresh_token):
        return client.post("/api/v1/auth/refresh", headers=bearer(refresh_token))

    def test_each_refresh_returns_a_new_pair_and_spends_the_old_refresh_token(
        self, client, student
    ):
        first = login_tokens(client, student)
        second = self._refresh(client, first["refresh_token"])
        assert second.status_code == 200
        pair = second.get_json()
        assert pair["refresh_token"] != first["refresh_token"]
        assert (
            client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 200
        )
        third = self._refresh(client, pair["refresh_token"])
        assert third.status_code == 200

    def test_reusing_a_spent_refresh_token_revokes_the_whole_family(self, client, student):
        stolen = login_tokens(client, student)
        owner = self._refresh(client, stolen["refresh_token"]).get_json()
        replay = self._refresh(client, stolen["refresh_token"])
        assert replay.status_code == 401 and replay.get_json()["error"] == "token_revoked"
        # Every token of the family is now refused: the owner's new ones too.
        for token in (owner["access_token"], stolen["access_token"]):
            me = client.get("/api/v1/auth/me", headers=bearer(token))
            assert me.status_code == 401 and me.get_json()["error"] == "token_revoked"
        assert self._refresh(client, owner["refresh_token"]).status_code == 401
        # Other sessions of the same student are not touched.
        fresh = login_tokens(client, student)["refresh_token"]
        assert self._refresh(client, fresh).status_code == 200

    def test_logout_after_rotation_revokes_the_newest_refresh_token(self, client, student):
        tokens = login_tokens(client, student)
        rotated = self._refresh(client, tokens["refresh_token"]).get_json()
        logout = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        assert logout.status_code == 204
        assert self._refresh(client, rotated["refresh_token"]).status_code == 401


class TestTokensOfUsersWhoAreGone:
    def _forged(self, user_id, role="admin"):
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id), "role": role, "sid": uuid.uuid4().hex, "type": "access",
            "fresh": False, "jti": str(uuid.uuid4()), "iat": now, "nbf": now,
            "exp": now + timedelta(minutes=5),
        }  # fmt: skip
        return pyjwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")

    def test_a_token_for_a_user_who_never_existed_is_refused(self, client):
        token = self._forged(uuid.uuid4())
        response = client.get("/api/v1/questions", headers=bearer(token))
        assert response.status_code == 401
        assert response.get_json()["error"] == "token_revoked"

    def test_a_deleted_users_token_is_refused(self, client, session, settings):
        account = make_user(session, settings)
        tokens = login_tokens(client, account)
        session.delete(session.get(User, account.user.id))
        session.commit()
        response = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401


class TestPasswordsAndEmails:
    def _register(self, client, **body):
        payload = {"email": "ada@school.test", "password": "a-long-password", "full_name": "Ada"}
        return client.post("/api/v1/auth/register", json={**payload, **body})

    @pytest.mark.parametrize("password", ["password1", "qwertyuiop", "Iloveyou123", "short"])
    def test_common_or_short_passwords_are_refused(self, client, password):
        response = self._register(client, password=password)
        assert response.status_code == 422
        assert "password" in response.get_json()["errors"]["json"]

    def test_the_cli_refuses_a_common_password_too(self, app):
        result = app.test_cli_runner().invoke(
            args=["create-user", "--email", "x@school.test", "--password", "password123",
                  "--role", "admin"]
        )  # fmt: skip
        assert result.exit_code != 0
        assert "common" in result.output

    @pytest.mark.parametrize(
        "look_alike",
        ["ＡＤＡ@school.test", "ADA@SCHOOL.TEST", "ada@school.test ", "ada@ｓｃｈｏｏｌ.test"],
    )
    def test_look_alike_emails_are_one_account(self, client, look_alike):
        assert self._register(client).status_code == 201
        duplicate = self._register(client, email=look_alike)
        assert duplicate.status_code in (409, 422)
        if duplicate.status_code == 422:  # refused as malformed is fine; never a second account
            assert "email" in duplicate.get_json()["errors"]["json"]

    def test_login_with_a_look_alike_of_ones_own_email_works(self, client):
        self._register(client, email="strasse@school.test")
        response = client.post(
            LOGIN, json={"email": "STRASSE@ＳＣＨＯＯＬ.TEST", "password": "a-long-password"}
        )
        assert response.status_code == 200

    def test_the_sharp_s_folds_to_ss(self, client):
        assert self._register(client, email="strasse@school.test").status_code == 201
        response = client.post(
            LOGIN, json={"email": "straße@school.test", "password": "a-long-password"}
        )
        assert response.status_code == 200
