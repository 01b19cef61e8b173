"""Auth as the contract states it: register, login, refresh, logout, me, tokens and roles."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest
from freezegun import freeze_time

from shared.config import load_settings
from shared.models import Role
from tests.factories import DEFAULT_PASSWORD, bearer, login, login_tokens, make_user


def _register(client, **overrides):
    body = {"email": "Ada@School.test", "password": "a-long-password", "full_name": "Ada L"}
    body.update(overrides)
    return client.post("/api/v1/auth/register", json=body)


class TestRegister:
    def test_creates_a_student_and_never_returns_the_password(self, client):
        response = _register(client)
        assert response.status_code == 201
        user = response.get_json()
        assert set(user) == {"id", "email", "full_name", "role", "created_at"}
        assert user["role"] == "student"
        assert user["email"] == "ada@school.test"
        assert datetime.fromisoformat(user["created_at"]).tzinfo is not None

    def test_an_email_taken_in_any_case_is_a_conflict(self, client):
        assert _register(client).status_code == 201
        response = _register(client, email="ADA@school.TEST")
        assert response.status_code == 409
        assert response.get_json()["error"] == "conflict"

    def test_the_password_is_stored_hashed_with_argon2(self, client, session):
        from shared.models import User

        _register(client)
        stored = session.query(User).filter_by(email="ada@school.test").one()
        assert stored.password_hash.startswith("$argon2id$")
        assert "a-long-password" not in stored.password_hash

    @pytest.mark.parametrize(
        ("field", "value"),
        [("email", "not-an-email"), ("password", "short"), ("full_name", "")],
    )
    def test_bad_fields_are_a_422_naming_the_field(self, client, field, value):
        response = _register(client, **{field: value})
        body = response.get_json()
        assert response.status_code == 422
        assert body["error"] == "validation_error"
        assert field in body["errors"]["json"]

    def test_a_student_cannot_register_as_admin(self, client):
        response = _register(client, role="admin")
        assert response.status_code == 422
        assert "role" in response.get_json()["errors"]["json"]


class TestLogin:
    def test_returns_a_token_pair_and_the_user(self, client, student, settings):
        tokens = login_tokens(client, student)
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == settings.JWT_ACCESS_TOKEN_SECONDS
        assert tokens["user"]["email"] == student.email
        me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200
        assert me.get_json()["id"] == str(student.user.id)

    def test_email_is_case_insensitive(self, client, student):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": student.email.upper(), "password": DEFAULT_PASSWORD},
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("email_known", [True, False])
    def test_wrong_credentials_get_the_same_401(self, client, student, email_known):
        email = student.email if email_known else "nobody@school.test"
        response = client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong-password"}
        )
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_credentials"
        assert response.get_json()["message"] == "wrong email or password"


class TestTokens:
    def test_refresh_gives_a_working_access_token(self, client, student):
        tokens = login_tokens(client, student)
        response = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert response.status_code == 200
        new_access = response.get_json()["access_token"]
        assert client.get("/api/v1/auth/me", headers=bearer(new_access)).status_code == 200

    def test_an_access_token_cannot_refresh(self, client, student):
        tokens = login_tokens(client, student)
        response = client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401

    def test_a_refresh_token_is_not_an_access_token(self, client, student):
        tokens = login_tokens(client, student)
        response = client.get("/api/v1/auth/me", headers=bearer(tokens["refresh_token"]))
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"

    def test_no_token_is_a_401(self, client):
        response = client.get("/api/v1/auth/me")
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"

    def test_an_expired_token_is_a_401_token_expired(self, client, student, settings):
        tokens = login_tokens(client, student)
        later = datetime.now(UTC) + timedelta(seconds=settings.JWT_ACCESS_TOKEN_SECONDS + 5)
        with freeze_time(later):
            response = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401
        assert response.get_json()["error"] == "token_expired"

    def test_a_token_used_before_is_still_refused_once_expired(self, client, student, settings):
        # Verified tokens are remembered per process (web/token_cache.py): never past expiry.
        tokens = login_tokens(client, student)
        assert (
            client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 200
        )
        later = datetime.now(UTC) + timedelta(seconds=settings.JWT_ACCESS_TOKEN_SECONDS + 5)
        with freeze_time(later):
            response = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert response.status_code == 401
        assert response.get_json()["error"] == "token_expired"

    def test_a_token_used_before_is_refused_once_revoked(self, client, student):
        token = login_tokens(client, student)["access_token"]
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
        response = client.get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.get_json()["error"] == "token_revoked"

    def test_a_token_verified_under_one_secret_is_refused_under_another(
        self, client, student, settings, db
    ):
        from pydantic import SecretStr

        from web import create_app

        token = login_tokens(client, student)["access_token"]
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
        other = create_app(
            settings.model_copy(update={"JWT_SECRET_KEY": SecretStr("b7Qx" + "Zr9pL2mV" * 5)})
        )
        other.extensions["exam.session_factory"] = db
        response = other.test_client().get("/api/v1/auth/me", headers=bearer(token))
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"

    def test_tampered_claims_are_rejected(self, client, student):
        token = login_tokens(client, student)["access_token"]
        header, payload, signature = token.split(".")
        claims = json.loads(_b64decode(payload))
        claims["role"] = "admin"
        forged = ".".join([header, _b64encode(json.dumps(claims).encode()), signature])
        response = client.get("/api/v1/auth/me", headers=bearer(forged))
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"

    def test_alg_none_is_rejected(self, client, student):
        token = login_tokens(client, student)["access_token"]
        claims = json.loads(_b64decode(token.split(".")[1]))
        header = _b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        unsigned = f"{header}.{_b64encode(json.dumps(claims).encode())}."
        response = client.get("/api/v1/auth/me", headers=bearer(unsigned))
        assert response.status_code == 401

    def test_a_token_signed_with_another_key_is_rejected(self, client, student):
        token = login_tokens(client, student)["access_token"]
        claims = json.loads(_b64decode(token.split(".")[1]))
        foreign = pyjwt.encode(claims, "some-other-secret-" + "y" * 40, algorithm="HS256")
        response = client.get("/api/v1/auth/me", headers=bearer(foreign))
        assert response.status_code == 401


class TestLogout:
    def test_revokes_the_access_token_and_its_refresh_pair(self, client, student):
        tokens = login_tokens(client, student)
        assert (
            client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"])).status_code
            == 204
        )
        me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
        assert me.get_json()["error"] == "token_revoked"
        again = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert again.status_code == 401
        assert again.get_json()["error"] == "token_revoked"

    def test_logout_with_the_refresh_token_revokes_the_access_token(self, client, student):
        tokens = login_tokens(client, student)
        assert (
            client.post("/api/v1/auth/logout", headers=bearer(tokens["refresh_token"])).status_code
            == 204
        )
        me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.get_json()["error"] == "token_revoked"

    def test_other_sessions_of_the_same_user_stay_valid(self, client, student):
        first, second = login_tokens(client, student), login_tokens(client, student)
        client.post("/api/v1/auth/logout", headers=bearer(first["access_token"]))
        assert (
            client.get("/api/v1/auth/me", headers=bearer(second["access_token"])).status_code == 200
        )

    def test_a_revocation_survives_a_restart(self, client, student, settings, db):
        from web import create_app

        tokens = login_tokens(client, student)
        client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
        restarted = create_app(settings)  # a new process would build a new app like this
        restarted.extensions["exam.session_factory"] = db
        me = restarted.test_client().get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401
        assert me.get_json()["error"] == "token_revoked"


class TestRoles:
    @pytest.fixture
    def role_app(self, settings, db):
        from web import create_app
        from web.security import Blueprint

        app = create_app(settings)
        blp = Blueprint("probe", __name__, url_prefix="/api/v1/probe")

        @blp.route("/admin-only")
        @blp.auth(Role.ADMIN)
        @blp.response(200)
        def admin_only():
            return {"ok": True}

        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blp)
        app.extensions["exam.session_factory"] = db
        return app

    def test_a_student_is_forbidden_and_an_admin_allowed(self, role_app, session, settings):
        client = role_app.test_client()
        student = make_user(session, settings, role=Role.STUDENT)
        admin = make_user(session, settings, role=Role.ADMIN)
        denied = client.get("/api/v1/probe/admin-only", headers=login(client, student))
        assert denied.status_code == 403
        assert denied.get_json()["error"] == "forbidden"
        allowed = client.get("/api/v1/probe/admin-only", headers=login(client, admin))
        assert allowed.status_code == 200

    def test_the_decorator_documents_the_security_scheme(self, role_app):
        spec = role_app.test_client().get("/api/openapi.json").get_json()
        operation = spec["paths"]["/api/v1/probe/admin-only"]["get"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"401", "403"} <= set(operation["responses"])
        assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


class TestRateLimits:
    def test_guessing_one_password_is_stopped_after_a_handful_of_tries(self, client, student):
        for _ in range(5):
            wrong = {"email": student.email, "password": "guess-guess"}
            assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        blocked = client.post(
            "/api/v1/auth/login", json={"email": student.email, "password": DEFAULT_PASSWORD}
        )
        assert blocked.status_code == 429
        assert blocked.get_json()["error"] == "rate_limited"
        assert int(blocked.headers["Retry-After"]) > 0

    def test_a_locked_account_does_not_lock_out_its_classmates(self, client, session, settings):
        victim = make_user(session, settings)
        classmate = make_user(session, settings)
        for _ in range(6):
            client.post("/api/v1/auth/login", json={"email": victim.email, "password": "nope-nope"})
        assert (
            client.post(
                "/api/v1/auth/login",
                json={"email": classmate.email, "password": classmate.password},
            ).status_code
            == 200
        )

    def test_a_class_behind_one_address_all_log_in(self, client, session, settings):
        """60 students on one NAT address, each with one typo first: nobody is blocked."""
        students = [make_user(session, settings) for _ in range(60)]
        for account in students:
            typo = {"email": account.email, "password": account.password + "x"}
            assert client.post("/api/v1/auth/login", json=typo).status_code == 401
            ok = {"email": account.email, "password": account.password}
            assert client.post("/api/v1/auth/login", json=ok).status_code == 200

    def test_failed_logins_per_address_have_their_own_higher_limit(self, settings, db, session):
        from web import create_app

        app = create_app(load_settings(LOGIN_FAILURES_PER_ADDRESS="10 per minute"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        for n in range(10):
            bad = {"email": f"stranger{n}@school.test", "password": "whatever1"}
            assert client.post("/api/v1/auth/login", json=bad).status_code == 401
        account = make_user(session, settings)
        blocked = client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        assert blocked.status_code == 429

    def test_registration_is_limited_per_address(self, db):
        from web import create_app

        app = create_app(load_settings(REGISTER_PER_ADDRESS="3 per minute"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        codes = [_register(client, email=f"new{n}@school.test").status_code for n in range(4)]
        assert codes == [201, 201, 201, 429]


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
