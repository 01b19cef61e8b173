"""People request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.models import Audience, Role
from shared.people.models import MAX_GROUP_NAME
from web.errors import ErrorSchema
from web.fields import CELL_ERRORS_OR_FIELD_ERRORS
from web.resources.auth.schemas import UserSchema
from web.resources.questions.schemas import CellErrorSchema

ROLES = [r.value for r in Role]


class GroupRefSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)


class AdminUserSchema(UserSchema):
    active = ma.fields.Boolean(required=True)
    groups = ma.fields.List(ma.fields.Nested(GroupRefSchema), required=True)


class UserQuerySchema(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    q = ma.fields.String(validate=validate.Length(min=1, max=200))
    group_id = ma.fields.UUID()
    active = ma.fields.Boolean()


class UserPatchSchema(ma.Schema):
    full_name = ma.fields.String(validate=validate.Length(min=1, max=200))
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    active = ma.fields.Boolean()


class GroupInSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_GROUP_NAME))
    description = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))


class GroupPatchSchema(GroupInSchema):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(partial=True, **kwargs)


class GroupSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True)
    member_count = ma.fields.Integer(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class GroupQuerySchema(ma.Schema):
    q = ma.fields.String(validate=validate.Length(min=1, max=MAX_GROUP_NAME))


MAX_IDS = 10_000


class MemberIdsSchema(ma.Schema):
    user_ids = ma.fields.List(
        ma.fields.UUID(), required=True, validate=validate.Length(max=MAX_IDS)
    )


class MemberCountSchema(ma.Schema):
    member_count = ma.fields.Integer(required=True)


class AssigneesInSchema(ma.Schema):
    group_ids = ma.fields.List(
        ma.fields.UUID(), load_default=list, validate=validate.Length(max=MAX_IDS)
    )
    user_ids = ma.fields.List(
        ma.fields.UUID(), load_default=list, validate=validate.Length(max=MAX_IDS)
    )


class AssigneesSchema(ma.Schema):
    audience = ma.fields.String(
        required=True,
        validate=validate.OneOf([a.value for a in Audience]),
        metadata={"description": "everyone: every active student; assigned: these only"},
    )
    group_ids = ma.fields.List(ma.fields.UUID(), required=True)
    user_ids = ma.fields.List(ma.fields.UUID(), required=True)
    eligible_count = ma.fields.Integer(required=True)


class RosterFileSchema(ma.Schema):
    file = ma.fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": ".xlsx or .csv"},
    )


class RosterImportSchema(ma.Schema):
    created = ma.fields.Integer(required=True, metadata={"description": "(would be) created"})
    updated = ma.fields.Integer(required=True, metadata={"description": "existing accounts"})
    groups_created = ma.fields.Integer(required=True)
    dry_run = ma.fields.Boolean(required=True)
    errors = ma.fields.List(ma.fields.Nested(CellErrorSchema), required=True)


class RosterImportFailedSchema(ErrorSchema):
    """A 422 from the import: row errors (the file), or field errors (the request)."""

    created = ma.fields.Integer(metadata={"description": "0: nothing was done"})
    updated = ma.fields.Integer()
    groups_created = ma.fields.Integer()
    dry_run = ma.fields.Boolean()
    errors = ma.fields.Raw(
        metadata={
            "oneOf": CELL_ERRORS_OR_FIELD_ERRORS,
            "description": "The file's problems as a list of {row, column, message}; or, for "
            "a bad request (no file), per-field messages as an object",
        }
    )
