"""LTI 1.3 tool: login, launch, JWKS, platform registrations."""

from web.resources.lti.routes import blp

__all__ = ["blp"]
