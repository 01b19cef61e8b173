"""Authentication and roles: one decorator that enforces and documents them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import flask_smorest
from flask import Flask, g, request
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_smorest import abort

from shared.models import Role
from shared.people import sessions as token_sessions
from web.errors import ErrorSchema, error_response
from web.extensions import db_session, jwt

BEARER = "bearerAuth"
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID
    role: str
    sid: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def current_identity() -> Identity:
    claims = get_jwt()
    return Identity(user_id=uuid.UUID(claims["sub"]), role=claims["role"], sid=claims["sid"])


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest Blueprint whose `auth` decorator also documents the security scheme."""

    def auth(
        self,
        *roles: str,
        refresh: bool = False,
        any_token: bool = False,
        revocation_in_view: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Require a valid token (a refresh token if `refresh`) and, if given, one of `roles`.
        `revocation_in_view`: the view checks revocation itself, inside its own statement
        (the autosave: one round trip), or by calling `ensure_not_revoked()`."""

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                g.exam_revocation_in_view = revocation_in_view
                verify_jwt_in_request(refresh=refresh, verify_type=not any_token)
                if roles and get_jwt().get("role") not in roles:
                    if revocation_in_view:  # a revoked token is 401 first, as everywhere
                        ensure_not_revoked()
                    abort(
                        403, message="this needs the role " + " or ".join(roles), error="forbidden"
                    )
                return func(*args, **kwargs)

            # What the route requires, for tests that walk the URL map (tests/security).
            wrapper.exam_auth = {"roles": roles, "refresh": refresh, "any_token": any_token}  # type: ignore[attr-defined]
            wrapper = self.doc(security=[{BEARER: []}])(wrapper)
            wrapper = self.alt_response(
                401, schema=ErrorSchema, description="Missing, invalid, expired or revoked token"
            )(wrapper)
            if roles:
                wrapper = self.alt_response(403, schema=ErrorSchema, description="Wrong role")(
                    wrapper
                )
            return wrapper

        return decorator

    def paginate(
        self, *args: Any, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """flask-smorest's pagination, with a cap on `page` (a huge page overflows OFFSET)."""
        paginated = super().paginate(*args, **kwargs)

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(func)
            def guarded(*f_args: Any, **f_kwargs: Any) -> Any:
                if f_kwargs["pagination_parameters"].page > MAX_PAGE:
                    message = f"must be at most {MAX_PAGE}"
                    abort(422, message=f"page {message}", errors={"query": {"page": [message]}},
                          error="validation_error")  # fmt: skip
                return func(*f_args, **f_kwargs)

            return paginated(guarded)

        return decorator

    def _set_pagination_metadata(self, page_params: Any, result: Any, headers: Any) -> Any:
        """X-Pagination as flask-smorest writes it, and the same pages as an RFC 8288 `Link`
        header (first, prev, next, last), each the request's URL with its `page` changed."""
        result, headers = super()._set_pagination_metadata(page_params, result, headers)
        meta = self._make_pagination_metadata(
            page_params.page, page_params.page_size, page_params.item_count
        )
        links = [
            f'<{_page_url(meta[key], page_params.page_size)}>; rel="{rel}"'
            for key, rel in (
                ("first_page", "first"),
                ("previous_page", "prev"),
                ("next_page", "next"),
                ("last_page", "last"),
            )
            if key in meta
        ]
        if links:
            headers["Link"] = ", ".join(links)
        return result, headers


def _page_url(page: int, page_size: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    args["page_size"] = [str(page_size)]
    return f"{request.base_url}?{urlencode(args, doseq=True)}"


def is_revoked(payload: dict[str, Any]) -> bool:
    """Whether the token with these claims may no longer be used (one indexed query)."""
    sid = payload.get("sid")
    try:
        user_id = uuid.UUID(str(payload.get("sub")))
    except ValueError:
        return True
    version = payload.get("tv", 0)
    if not sid or not isinstance(version, int):
        return True
    return not token_sessions.is_valid(db_session(), sid, user_id, version)


def ensure_not_revoked() -> None:
    """For views that deferred the check (`revocation_in_view`): 401 token_revoked now."""
    if is_revoked(get_jwt()):
        abort(401, message="the token has been revoked", error="token_revoked")


def init_jwt(app: Flask) -> None:
    """Error shapes for every token failure, and revocation checked on every request."""
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        """A token is refused once its family is revoked, its user is gone or disabled, or
        every session of the user was ended (a password reset)."""
        if g.get("exam_revocation_in_view"):
            return False  # the view checks it (see Blueprint.auth)
        return is_revoked(payload)

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(401, "token_expired", "the token has expired")

    @jwt.revoked_token_loader
    def _revoked_response(_header: dict[str, Any], _payload: dict[str, Any]):  # type: ignore[no-untyped-def]
        return error_response(401, "token_revoked", "the token has been revoked")

    @jwt.invalid_token_loader
    def _invalid(reason: str):  # type: ignore[no-untyped-def]
        return error_response(401, "unauthorized", f"invalid token: {reason}")

    @jwt.unauthorized_loader
    def _missing(reason: str):  # type: ignore[no-untyped-def]
        return error_response(401, "unauthorized", reason)
