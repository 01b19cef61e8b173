"""LTI request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from web.resources.auth.schemas import TokenPairSchema, UserSchema

CLAIM = validate.Length(min=1, max=255)
URL = validate.Length(min=1, max=2048)


class PlatformCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    issuer = ma.fields.String(required=True, validate=CLAIM)
    client_id = ma.fields.String(required=True, validate=CLAIM)
    auth_login_url = ma.fields.Url(required=True, validate=URL, require_tld=False)
    auth_token_url = ma.fields.Url(required=True, validate=URL, require_tld=False)
    key_set_url = ma.fields.Url(required=True, validate=URL, require_tld=False)
    auth_audience = ma.fields.Url(
        load_default=None, allow_none=True, validate=URL, require_tld=False
    )
    deployment_ids = ma.fields.List(
        ma.fields.String(validate=CLAIM), required=True, validate=validate.Length(min=1, max=100)
    )
    instructors_are_admins = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "An Instructor launch signs in as one of our admins"},
    )


class PlatformSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    issuer = ma.fields.String(required=True)
    client_id = ma.fields.String(required=True)
    auth_login_url = ma.fields.String(required=True)
    auth_token_url = ma.fields.String(required=True)
    key_set_url = ma.fields.String(required=True)
    auth_audience = ma.fields.String(required=True, allow_none=True)
    deployment_ids = ma.fields.List(ma.fields.String(), required=True)
    instructors_are_admins = ma.fields.Boolean(required=True)
    created_at = ma.fields.AwareDateTime(required=True)


class DeploymentsSchema(ma.Schema):
    deployment_ids = ma.fields.List(
        ma.fields.String(validate=CLAIM), required=True, validate=validate.Length(min=1, max=100)
    )


class LoginArgsSchema(ma.Schema):
    """A third-party initiated login (query string or form); platforms add fields of their
    own, which are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    iss = ma.fields.String(required=True, validate=CLAIM)
    login_hint = ma.fields.String(required=True, validate=validate.Length(min=1, max=4096))
    target_link_uri = ma.fields.String(validate=URL)
    lti_message_hint = ma.fields.String(validate=validate.Length(max=4096))
    client_id = ma.fields.String(validate=CLAIM)
    lti_deployment_id = ma.fields.String(validate=CLAIM)


class LaunchFormSchema(ma.Schema):
    """The platform's form post: the signed id_token and our state."""

    class Meta:
        unknown = ma.EXCLUDE

    id_token = ma.fields.String(required=True, validate=validate.Length(min=1, max=65536))
    state = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class SessionCodeSchema(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))


class LtiSessionSchema(TokenPairSchema):
    user = ma.fields.Nested(UserSchema, required=True)
    exam_id = ma.fields.UUID(required=True, metadata={"description": "The exam to open"})


class DeepLinkFormSchema(ma.Schema):
    """The instructor's choice on the deep-linking picker."""

    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128))
    exam_id = ma.fields.UUID(required=True)


class ResourceLinkSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    resource_link_id = ma.fields.String(required=True)
    exam_id = ma.fields.UUID(required=True)
    deployment_id = ma.fields.String(required=True)
    context_id = ma.fields.String(required=True, allow_none=True)
    title = ma.fields.String(required=True, allow_none=True)
    lineitem_url = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Where scores go (AGS)"}
    )
    memberships_url = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "The course roster (NRPS)"}
    )
    created_at = ma.fields.AwareDateTime(required=True)


class QueuedSchema(ma.Schema):
    queued = ma.fields.Boolean(
        required=True, metadata={"description": "False if the broker was unreachable: retry"}
    )


class GradePostQuerySchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(["pending", "sending", "sent", "failed"]))


class GradePostSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    attempt_id = ma.fields.UUID(required=True)
    resource_link_id = ma.fields.UUID(required=True)
    sub = ma.fields.String(required=True, metadata={"description": "The platform's user id"})
    score_given = ma.fields.Float(required=True)
    score_maximum = ma.fields.Float(required=True)
    pending_manual = ma.fields.Boolean(required=True)
    status = ma.fields.String(
        required=True, validate=validate.OneOf(["pending", "sending", "sent", "failed"])
    )
    tries = ma.fields.Integer(required=True)
    next_try_at = ma.fields.AwareDateTime(required=True)
    response_code = ma.fields.Integer(required=True, allow_none=True)
    last_error = ma.fields.String(required=True, allow_none=True)
    created_at = ma.fields.AwareDateTime(required=True)
    sent_at = ma.fields.AwareDateTime(required=True, allow_none=True)
