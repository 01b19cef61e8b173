"""Schemas shared by resources."""

import marshmallow as ma


class NoBodySchema(ma.Schema):
    """No body is expected: `{}` or nothing; any field is refused (422)."""
