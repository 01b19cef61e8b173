"""Auth request and response shapes."""

import marshmallow as ma
from marshmallow import validate

from shared.security import MIN_PASSWORD_LENGTH

# Argon2 cost doesn't depend on length, but an unbounded password is a free DoS on parsing.
MAX_PASSWORD_LENGTH = 256


class RegisterSchema(ma.Schema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(
        required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)
    )
    full_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class LoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )


class UserSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    email = ma.fields.String(required=True)
    full_name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=validate.OneOf(["admin", "student"]))
    created_at = ma.fields.AwareDateTime(required=True)


class AccessTokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    expires_in = ma.fields.Integer(required=True, metadata={"description": "seconds"})


class TokenPairSchema(AccessTokenSchema):
    refresh_token = ma.fields.String(
        required=True, metadata={"description": "Single use: a refresh returns a new one"}
    )
    token_type = ma.fields.String(required=True, metadata={"example": "Bearer"})


class LoginResultSchema(TokenPairSchema):
    user = ma.fields.Nested(UserSchema, required=True)


class ForgotPasswordSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))


class ResetPasswordSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = ma.fields.String(
        required=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)
    )
