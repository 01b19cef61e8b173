"""People: users, groups, exam audiences (and the bulk import of students)."""

from web.resources.people import audiences, groups, users  # noqa: F401  (register the views)
from web.resources.people.blueprint import blp

__all__ = ["blp"]
