"""The two legs of an LTI 1.3 launch: OIDC login (we send the browser to the platform
with a state and a nonce) and the launch (the platform posts back a signed id_token)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from shared.cache import Cache
from shared.config import Settings
from shared.interop.lti import claims as C
from shared.interop.lti.keys import tool_key
from shared.interop.lti.launches import Outcome, deep_link_launch, resource_launch
from shared.interop.lti.tool import (
    DatabaseToolConf,
    FormRequest,
    Launch,
    LaunchError,
    Login,
    TimeoutSession,
)

LAUNCH_PATH = "/api/v1/lti/launch"


def launch_url(settings: Settings) -> str:
    """The redirect URI platforms must have registered for us."""
    return settings.public_url + LAUNCH_PATH


def login(
    session: Session, settings: Settings, params: Mapping[str, str], *, secure: bool, now: datetime
) -> str:
    """The platform authorization URL for a third-party initiated login (state stored)."""
    conf = DatabaseToolConf(session, lambda: tool_key(settings))
    return Login(FormRequest(params, secure), conf, session).auth_url(
        launch_url(settings), now, settings.LTI_LOGIN_SECONDS
    )


def launch(
    session: Session,
    settings: Settings,
    params: Mapping[str, str],
    *,
    secure: bool,
    now: datetime,
    key_sets: Cache | None = None,
) -> Outcome:
    """Check the posted id_token in full, then act on its message type. `key_sets` keeps
    platforms' key sets between launches (a class starting at once fetches them once)."""
    conf = DatabaseToolConf(session, lambda: tool_key(settings))
    http = TimeoutSession(settings.LTI_HTTP_TIMEOUT_SECONDS)
    checked = Launch(FormRequest(params, secure), conf, session, http)
    checked.key_sets = key_sets
    try:
        body = checked.validate_checked(now)
    finally:
        http.close()
    platform, ttl = checked.platform, settings.LTI_HANDOFF_SECONDS
    kind = body.get(C.MESSAGE_TYPE)
    if kind == C.RESOURCE_LINK_REQUEST:
        return resource_launch(session, platform, body, now, ttl)
    if kind == C.DEEP_LINKING_REQUEST:
        return deep_link_launch(session, platform, body, now, ttl)
    raise LaunchError(f"message type {kind!r} is not supported", code="lti_message_invalid")
