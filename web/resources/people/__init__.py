"""People: users, groups, exam audiences (and the bulk import of students)."""

from web.resources.people import audiences, groups, imports, users  # noqa: F401  (the views)
from web.resources.people.blueprint import blp

__all__ = ["blp"]
