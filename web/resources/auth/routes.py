"""Auth endpoints; token pairs share a `sid` claim so logout revokes both."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import request
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt

from shared.messaging import TaskName
from shared.models import User, utcnow
from shared.people import accounts as users
from shared.people import passwords
from shared.people import sessions as token_sessions
from web.errors import ErrorSchema
from web.extensions import client_address, db_session, limiter, send_task, settings
from web.resources.auth.schemas import (
    ForgotPasswordSchema,
    LoginResultSchema,
    LoginSchema,
    RegisterSchema,
    ResetPasswordSchema,
    TokenPairSchema,
    UserSchema,
)
from web.schemas import NoBodySchema
from web.security import Blueprint, current_identity

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Accounts and tokens")


def _login_account_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "account:" + (users.normalize_email(email) if isinstance(email, str) else "")


def _login_account_and_address_key() -> str:
    """Failures from one address against one account: an attacker who keeps failing is
    stopped without locking the account's owner out from anywhere else."""
    return f"{_login_account_key()}|address:{client_address()}"


def _failed(response: Any) -> bool:
    return response.status_code == 401


def _claims(user: User, sid: str) -> dict[str, Any]:
    """Role, family and the user's token version (bumped to end every session)."""
    return {"role": user.role, "sid": sid, "tv": user.token_version}


def _access_token(user: User, sid: str) -> str:
    return create_access_token(identity=str(user.id), additional_claims=_claims(user, sid))


@blp.route("/register", methods=["POST"])
@limiter.limit(lambda: settings().REGISTER_PER_ADDRESS, key_func=client_address)
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@blp.alt_response(403, schema=ErrorSchema, description="registration_closed")
@blp.alt_response(409, schema=ErrorSchema, description="The email is taken")
@blp.alt_response(429, schema=ErrorSchema, description="Too many registrations")
def register(data: dict[str, Any]) -> User:
    """Create a student account (where SELF_REGISTRATION allows it)"""
    users.check_registration(settings(), data["email"])
    user = users.create_user(db_session(), settings(), **data)
    db_session().commit()
    return user


@blp.route("/login", methods=["POST"])
@limiter.limit(
    lambda: settings().LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
    key_func=_login_account_and_address_key,
    deduct_when=_failed,
)
@limiter.limit(
    lambda: settings().LOGIN_FAILURES_PER_ACCOUNT, key_func=_login_account_key, deduct_when=_failed
)
@limiter.limit(
    lambda: settings().LOGIN_FAILURES_PER_ADDRESS, key_func=client_address, deduct_when=_failed
)
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(401, schema=ErrorSchema, description="invalid_credentials")
@blp.alt_response(403, schema=ErrorSchema, description="account_disabled")
@blp.alt_response(429, schema=ErrorSchema, description="Too many failed logins")
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for an access and a refresh token"""
    session = db_session()
    user = users.authenticate(session, settings(), email=data["email"], password=data["password"])
    session.commit()  # a rehashed password
    return {**_token_pair(user, uuid.uuid4().hex), "user": user}


def _token_pair(user: User, sid: str) -> dict[str, Any]:
    """An access and a refresh token of one family (`sid`): revoking it ends both."""
    return {
        "access_token": _access_token(user, sid),
        "refresh_token": create_refresh_token(
            identity=str(user.id), additional_claims=_claims(user, sid)
        ),
        "token_type": "Bearer",
        "expires_in": settings().JWT_ACCESS_TOKEN_SECONDS,
    }


def _family_expiry() -> datetime:
    """No token of a family issued until now outlives this."""
    return utcnow() + timedelta(seconds=settings().JWT_REFRESH_TOKEN_SECONDS)


@blp.route("/refresh", methods=["POST"])
@blp.auth(refresh=True)
@blp.arguments(NoBodySchema)
@blp.response(200, TokenPairSchema)
@blp.alt_response(401, schema=ErrorSchema, description="token_revoked: already used")
def refresh(_: dict[str, Any]) -> dict[str, Any]:
    """A new token pair for a refresh token, which is spent: reusing it revokes the
    session (every token of the pair's family)"""
    identity, session = current_identity(), db_session()
    user = users.get_user(session, identity.user_id)
    try:
        token_sessions.use_refresh_token(
            session,
            jti=get_jwt()["jti"],
            sid=identity.sid,
            user_id=identity.user_id,
            family_expires_at=_family_expiry(),
        )
    finally:
        session.commit()  # the spent token, or the family's revocation
    return _token_pair(user, identity.sid)


@blp.route("/logout", methods=["POST"])
@blp.auth(any_token=True)
@blp.arguments(NoBodySchema)
@blp.response(204)
def logout(_: dict[str, Any]) -> None:
    """Revoke this token and every token of its family (access and refresh)"""
    identity = current_identity()
    token_sessions.revoke(
        db_session(), identity.sid, user_id=identity.user_id, expires_at=_family_expiry()
    )
    db_session().commit()


@blp.route("/me", methods=["GET"])
@blp.auth()
@blp.response(200, UserSchema)
def me() -> User:
    """The signed-in user"""
    return users.get_user(db_session(), current_identity().user_id)


@blp.route("/password/forgot", methods=["POST"])
@limiter.limit(lambda: settings().RESET_LINKS_PER_ACCOUNT, key_func=_login_account_key)
@limiter.limit(lambda: settings().RESET_LINKS_PER_ADDRESS, key_func=client_address)
@blp.arguments(ForgotPasswordSchema)
@blp.response(202)
@blp.alt_response(429, schema=ErrorSchema, description="Too many requests")
def forgot_password(data: dict[str, Any]) -> None:
    """Email a one-time reset link; 202 whether or not the address has an account"""
    session = db_session()
    created = passwords.forgot(session, data["email"], utcnow())
    session.commit()
    if created:
        send_task(TaskName.SEND_EMAIL, str(created))


@blp.route("/password/reset", methods=["POST"])
@blp.arguments(ResetPasswordSchema)
@blp.response(204)
@blp.alt_response(422, schema=ErrorSchema, description="An invalid, used or expired link")
def reset_password(data: dict[str, Any]) -> None:
    """Set a new password with the link's token; every session of the user ends"""
    session = db_session()
    passwords.reset_password(session, settings(), data["token"], data["password"], utcnow())
    session.commit()
