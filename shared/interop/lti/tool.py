"""pylti1p3 bound to our storage: registrations read from the database, and the OIDC state
and nonce kept there too, spent once, so a launch is checked the same in every process."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from pylti1p3.cookie import CookieService
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.cache import Cache
from shared.errors import InvalidCredentials
from shared.interop.lti.keys import ToolKey
from shared.interop.lti.models import LtiDeployment, LtiLaunchState, LtiPlatform

# How long a platform's key set is trusted without fetching it again (a launch signed with a
# kid not in it fetches it at once, so a rotation never waits for this).
KEY_SET_TTL = 300


class LaunchError(InvalidCredentials):
    """A login or launch we refuse: 401 with a code naming the check that failed."""


class TimeoutSession(requests.Session):
    """Every call to a platform gives up after `timeout` seconds (requests has no default)."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = "exam-backend-lti"

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return super().request(*args, **kwargs)


class FormRequest(Request):
    """The login or launch parameters, already read from the query string or form."""

    def __init__(self, params: Mapping[str, str], secure: bool) -> None:
        self._params, self._secure = params, secure

    @property
    def session(self) -> None:
        return None

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str) -> str:
        return self._params.get(key) or ""


def registration(platform: LtiPlatform, key: ToolKey) -> Registration:
    """A platform row as pylti1p3 wants it, with our key pair."""
    reg = Registration()
    reg.set_issuer(platform.issuer).set_client_id(platform.client_id)
    reg.set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
    reg.set_key_set_url(platform.key_set_url)
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    reg.set_tool_private_key(key.private_pem).set_tool_public_key(key.public_pem)
    return reg


class DatabaseToolConf(ToolConfAbstract[FormRequest]):
    """Registrations from `lti_platforms`: an issuer may have several client ids."""

    def __init__(self, session: Session, key: Callable[[], ToolKey]) -> None:
        # The key is read only once a registration is found: a stranger's login or launch
        # is refused for what it is, even where LTI has no key yet.
        self._session, self._key = session, key
        self.platform: LtiPlatform | None = None  # the one found last

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_platform(self, iss: str, client_id: str | None) -> LtiPlatform | None:
        query = select(LtiPlatform).where(LtiPlatform.issuer == iss)
        if client_id:
            query = query.where(LtiPlatform.client_id == client_id)
        found = self._session.scalars(query.limit(2)).all()
        # Without a client id the issuer must be unambiguous.
        return found[0] if len(found) == 1 else None

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        return self.find_registration_by_params(iss, "", *args, **kwargs)

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        self.platform = self.find_platform(iss, client_id)
        return registration(self.platform, self._key()) if self.platform else None  # type: ignore[return-value]

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, "")

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        platform = self.find_platform(iss, client_id)
        if (
            platform is None
            or self._session.get(LtiDeployment, (platform.id, deployment_id)) is None
        ):
            return None
        return Deployment().set_deployment_id(deployment_id)


class NoCookies(CookieService):
    """State lives in the database, not in a cookie: an LMS iframe often gets no cookies."""

    def get_cookie(self, name: str) -> str | None:
        return None

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        return None


class NoSession(SessionService):
    """pylti1p3 wants a session service; every check that used one is overridden below."""

    def __init__(self) -> None:  # no Flask session behind it
        pass


class UrlRedirect(Redirect[str]):
    def __init__(self, url: str) -> None:
        self._url = url

    def do_redirect(self) -> str:
        return self._url

    def do_js_redirect(self) -> str:
        return self._url

    def set_redirect_url(self, location: str) -> None:
        self._url = location

    def get_redirect_url(self) -> str:
        return self._url


class Login(OIDCLogin[FormRequest, DatabaseToolConf, NoSession, NoCookies, str]):
    """Third-party initiated login: the state and nonce we send are stored, bound together."""

    def __init__(self, request: FormRequest, conf: DatabaseToolConf, session: Session) -> None:
        super().__init__(request, conf, NoSession(), NoCookies())
        self._db = session

    def get_redirect(self, url: str) -> Redirect[str]:
        return UrlRedirect(url)

    def auth_url(self, launch_url: str, now: datetime, lifetime: int) -> str:
        """The platform's authorization URL to send the browser to (and our stored state)."""
        try:
            reg = self.validate_oidc_login()
        except OIDCException as exc:
            raise LaunchError(str(exc), code="lti_platform_unknown") from None
        assert self._tool_config.platform is not None
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._db.add(
            LtiLaunchState(
                state=state,
                nonce=nonce,
                platform_id=self._tool_config.platform.id,
                created_at=now,
                expires_at=now + timedelta(seconds=lifetime),
            )
        )
        self._db.flush()
        params = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": reg.get_client_id(),
            "redirect_uri": launch_url,
            "state": state,
            "nonce": nonce,
            "login_hint": self._get_request_param("login_hint"),
        }
        if hint := self._get_request_param("lti_message_hint"):
            params["lti_message_hint"] = hint
        separator = "&" if "?" in (reg.get_auth_login_url() or "") else "?"
        return f"{reg.get_auth_login_url()}{separator}{urlencode(params)}"


# Each check of a launch, and the code its failure is refused with.
_CHECKS = (
    ("validate_state", "lti_state_invalid"),
    ("validate_jwt_format", "lti_token_invalid"),
    ("validate_nonce", "lti_nonce_invalid"),
    ("validate_registration", "lti_platform_unknown"),
    ("validate_jwt_signature", "lti_token_invalid"),
    ("validate_audience", "lti_token_invalid"),
    ("validate_deployment", "lti_deployment_unknown"),
    ("validate_message", "lti_message_invalid"),
)


class Launch(MessageLaunch[FormRequest, DatabaseToolConf, NoSession, NoCookies]):
    """An id_token form-posted back: every check of pylti1p3, with our state store, and
    the audience and expiry checks pylti1p3 leaves out."""

    def __init__(
        self, request: FormRequest, conf: DatabaseToolConf, session: Session, http: requests.Session
    ) -> None:
        super().__init__(request, conf, NoSession(), NoCookies(), requests_session=http)
        self._db = session
        self._state: LtiLaunchState | None = None
        # pylti1p3 decodes without an audience (checked in validate_audience); an id_token
        # without exp or iat is refused.
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
        self.now: datetime | None = None
        self.key_sets: Cache | None = None  # platforms' key sets, shared by processes

    def _get_request_param(self, key: str) -> str:
        return self._request.get_param(key)

    def validate_checked(self, now: datetime) -> dict[str, Any]:
        """Run every check; LaunchError naming the first that fails. The launch's claims."""
        self.now = now
        self._validated = True
        for method, code in _CHECKS:
            try:
                getattr(self, method)()
            except (LtiException, LaunchError) as exc:
                self._validated = False
                raise LaunchError(f"launch refused: {exc}", code=code) from None
        return dict(self._jwt.get("body", {}))

    @property
    def platform(self) -> LtiPlatform:
        assert self._tool_config.platform is not None
        return self._tool_config.platform

    def validate_state(self) -> Launch:
        """Spend the state we issued at login: unknown, expired or used before is refused."""
        state = self._get_request_param("state")
        if not state or len(state) > 64:
            raise LtiException("missing or unknown state")
        spent = self._db.execute(
            update(LtiLaunchState)
            .where(
                LtiLaunchState.state == state,
                LtiLaunchState.used_at.is_(None),
                LtiLaunchState.expires_at > self.now,
            )
            .values(used_at=self.now)
            .returning(LtiLaunchState.nonce, LtiLaunchState.platform_id)
        ).first()
        if spent is None:
            raise LtiException("the state is unknown, expired or already used")
        self._state = LtiLaunchState(state=state, nonce=spent.nonce, platform_id=spent.platform_id)
        return self

    def validate_nonce(self) -> Launch:
        """The id_token's nonce must be the one we sent with this very state."""
        nonce = self._get_jwt_body().get("nonce")
        assert self._state is not None
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce, self._state.nonce):
            raise LtiException("the nonce is not the one sent with this state")
        return self

    def validate_registration(self) -> Launch:
        super().validate_registration()
        assert self._state is not None
        if self.platform.id != self._state.platform_id:
            raise LtiException("the login was started for another platform")
        return self

    def validate_audience(self) -> Launch:
        """`aud` names our client id; with several audiences `azp` must be ours too."""
        body = self._get_jwt_body()
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        client_id = self.platform.client_id
        if client_id not in audiences:
            raise LtiException("the id_token is not for this tool")
        if (len(audiences) > 1 or "azp" in body) and body.get("azp") != client_id:
            raise LtiException("azp does not name this tool")
        return self

    def get_public_key(self) -> tuple[str, str]:
        """The platform's key for this id_token's kid, from its key set as cached for
        KEY_SET_TTL; a kid the cached set lacks (a rotated key) fetches the set again."""
        assert self._registration is not None
        cache_key = "lti-keyset:" + hashlib.sha256(self.platform.key_set_url.encode()).hexdigest()
        cached = self.key_sets.get(cache_key) if self.key_sets is not None else None
        if cached:
            self._registration.set_key_set(cached)
            try:
                return super().get_public_key()
            except LtiException:
                pass
        self._registration.set_key_set(None)
        found = super().get_public_key()  # fetches key_set_url
        if self.key_sets is not None:
            self.key_sets.set(cache_key, self._registration.get_key_set(), KEY_SET_TTL)
        return found

    def save_launch_data(self) -> Launch:
        return self  # nothing to keep: the launch is handled in this request
