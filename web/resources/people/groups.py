"""Groups (classes, sections) and their members."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from shared.models import Role
from shared.people import groups
from shared.people.models import Group
from web.errors import ErrorSchema
from web.extensions import db_session
from web.resources.people.blueprint import blp
from web.resources.people.schemas import (
    AdminUserSchema,
    GroupInSchema,
    GroupPatchSchema,
    GroupQuerySchema,
    GroupSchema,
    MemberCountSchema,
    MemberIdsSchema,
)
from web.resources.people.users import admin_views


def group_views(found: list[Group]) -> list[dict[str, Any]]:
    counts = groups.member_counts(db_session(), [g.id for g in found])
    return [
        {
            "id": g.id,
            "name": g.name,
            "description": g.description,
            "created_at": g.created_at,
            "member_count": counts[g.id],
        }
        for g in found
    ]


@blp.route("/groups")
class GroupList(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.arguments(GroupQuerySchema, location="query")
    @blp.response(200, GroupSchema(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Groups by name; `q` finds them by part of the name"""
        found, total = groups.search_groups(
            db_session(),
            q=query.get("q"),
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return group_views(found)

    @blp.auth(Role.ADMIN)
    @blp.arguments(GroupInSchema)
    @blp.response(201, GroupSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="A group with this name exists")
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a group"""
        group = groups.create_group(db_session(), **data)
        db_session().commit()
        return group_views([group])[0]


@blp.route("/groups/<uuid:group_id>")
class GroupItem(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, GroupSchema)
    def get(self, group_id: uuid.UUID) -> dict[str, Any]:
        """A group with its member count"""
        return group_views([groups.get_group(db_session(), group_id)])[0]

    @blp.auth(Role.ADMIN)
    @blp.arguments(GroupPatchSchema)
    @blp.response(200, GroupSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="A group with this name exists")
    def patch(self, data: dict[str, Any], group_id: uuid.UUID) -> dict[str, Any]:
        """Rename a group or change its description"""
        group = groups.update_group(db_session(), group_id, data)
        db_session().commit()
        return group_views([group])[0]

    @blp.auth(Role.ADMIN)
    @blp.response(204)
    def delete(self, group_id: uuid.UUID) -> None:
        """Delete a group: its members' accounts and attempts stay"""
        groups.delete_group(db_session(), group_id)
        db_session().commit()


@blp.route("/groups/<uuid:group_id>/members")
class GroupMembers(MethodView):
    @blp.auth(Role.ADMIN)
    @blp.response(200, AdminUserSchema(many=True))
    @blp.paginate()
    def get(self, group_id: uuid.UUID, pagination_parameters: Any) -> list[dict[str, Any]]:
        """The group's members, by email"""
        found, total = groups.members(
            db_session(),
            group_id,
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return admin_views(found)

    @blp.auth(Role.ADMIN)
    @blp.arguments(MemberIdsSchema)
    @blp.response(200, MemberCountSchema)
    def put(self, data: dict[str, Any], group_id: uuid.UUID) -> dict[str, int]:
        """Replace the members: exactly these students"""
        count = groups.replace_members(db_session(), group_id, data["user_ids"])
        db_session().commit()
        return {"member_count": count}

    @blp.auth(Role.ADMIN)
    @blp.arguments(MemberIdsSchema)
    @blp.response(200, MemberCountSchema)
    def post(self, data: dict[str, Any], group_id: uuid.UUID) -> dict[str, int]:
        """Add students (those already in stay)"""
        count = groups.add_members(db_session(), group_id, data["user_ids"])
        db_session().commit()
        return {"member_count": count}


@blp.route("/groups/<uuid:group_id>/members/<uuid:user_id>", methods=["DELETE"])
@blp.auth(Role.ADMIN)
@blp.response(200, MemberCountSchema)
def remove_member(group_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, int]:
    """Take one student out of the group"""
    count = groups.remove_member(db_session(), group_id, user_id)
    db_session().commit()
    return {"member_count": count}
