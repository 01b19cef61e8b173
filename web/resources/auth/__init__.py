"""Register, login, refresh, logout, me."""

from web.resources.auth.routes import blp

__all__ = ["blp"]
