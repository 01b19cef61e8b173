"""User administration: find, rename, change role, disable, send a reset link."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from shared.messaging import TaskName
from shared.models import Role, User, utcnow
from shared.people import accounts, passwords
from web.errors import ErrorSchema
from web.extensions import db_session, send_task
from web.resources.people.blueprint import blp
from web.resources.people.schemas import AdminUserSchema, UserPatchSchema, UserQuerySchema
from web.schemas import NoBodySchema
from web.security import current_identity


def admin_views(users: list[User]) -> list[dict[str, Any]]:
    """Users with their groups (one query for the page)."""
    groups = accounts.groups_of(db_session(), [u.id for u in users])
    return [{**_fields(user), "groups": groups[user.id]} for user in users]


def _fields(user: User) -> dict[str, Any]:
    return {name: getattr(user, name) for name in AdminUserSchema().fields if name != "groups"}


@blp.route("/users")
class UserList(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, AdminUserSchema(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Find users by email or name (`q`), role, group or whether they are active"""
        found, total = accounts.search_users(
            db_session(),
            **query,
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return admin_views(found)


@blp.route("/users/<uuid:user_id>")
class UserItem(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, AdminUserSchema)
    def get(self, user_id: uuid.UUID) -> dict[str, Any]:
        """A user with their groups"""
        return admin_views([accounts.get_user(db_session(), user_id)])[0]

    @blp.auth(Role.ADMIN)
    @blp.arguments(UserPatchSchema)
    @blp.response(200, AdminUserSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="Your own role or account")
    def patch(self, data: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
        """Rename, change the role, disable (every session ends at once) or re-enable"""
        user = accounts.update_user(db_session(), user_id, data, by=current_identity().user_id)
        db_session().commit()
        return admin_views([user])[0]


@blp.route("/users/<uuid:user_id>/password-reset", methods=["POST"])
@blp.auth(Role.ADMIN)
@blp.arguments(NoBodySchema)
@blp.response(202)
@blp.alt_response(409, schema=ErrorSchema, description="The account is disabled")
def password_reset(_: dict[str, Any], user_id: uuid.UUID) -> None:
    """Email the user a one-time link to choose a new password"""
    created = passwords.admin_reset(db_session(), user_id, utcnow())
    db_session().commit()
    if created:
        send_task(TaskName.SEND_EMAIL, str(created))
