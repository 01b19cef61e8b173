"""All models, imported here so `Base.metadata` is complete for Alembic and services."""

from shared.models.base import Base, utcnow
from shared.models.user import RevokedSession, Role, User

__all__ = ["Base", "RevokedSession", "Role", "User", "utcnow"]
