"""The people blueprint, shared by its route modules."""

from web.security import Blueprint

blp = Blueprint(
    "people", __name__, url_prefix="/api/v1", description="People: users, groups, audiences"
)
