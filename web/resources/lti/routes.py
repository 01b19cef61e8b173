"""LTI 1.3 tool: login, launch, JWKS, platform registrations."""

from __future__ import annotations

from web.security import Blueprint

blp = Blueprint(
    "lti",
    __name__,
    url_prefix="/api/v1/lti",
    description="LTI 1.3 tool: login, launch, JWKS, platform registrations",
)
