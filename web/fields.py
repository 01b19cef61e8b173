"""Marshmallow fields shared by resources."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import marshmallow as ma

from shared.question_types import NUMBER_MESSAGE, json_number, to_decimal


class Number(ma.fields.Field):
    """A JSON number loaded as an exact Decimal (0.1 stays 0.1) and dumped as a number; never
    NaN, infinity or a magnitude above 1e15 (see shared.question_types.to_decimal)."""

    default_error_messages = {"invalid": f"Not a valid number: {NUMBER_MESSAGE}."}

    def __init__(self, *, places: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.places = places
        self.metadata.setdefault("type", "number")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        number = to_decimal(value) if not isinstance(value, str) else None
        if number is None:
            raise self.make_error("invalid")
        if self.places is not None and number.as_tuple().exponent < -self.places:  # type: ignore[operator]
            raise ma.ValidationError(f"At most {self.places} decimal places.")
        return number

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> int | float | None:
        return None if value is None else json_number(Decimal(value))


# The JSON shapes a question's answer takes (CONTRACT.md, question types): typed for OpenAPI
# 3.0 as a oneOf, so a generated client keeps the models that carry them.
ANSWER_SHAPES: list[dict[str, Any]] = [
    {"type": "string", "description": "single_choice: an option id; short_text, essay: text"},
    {"type": "number", "description": "numeric"},
    {"type": "boolean", "description": "true_false"},
    {
        "type": "array",
        "items": {"type": "string"},
        "description": "multiple_choice: option ids; short_text (a key): accepted strings",
    },
]


def answer_shape(description: str) -> dict[str, Any]:
    """Field metadata for a response or key whose shape depends on the question type."""
    return {"description": description, "oneOf": ANSWER_SHAPES}


# An import's 422 `errors`: the file's problems, or (a bad request) per-field messages.
CELL_ERRORS_OR_FIELD_ERRORS: list[dict[str, Any]] = [
    {"type": "array", "items": {"$ref": "#/components/schemas/CellError"}},
    {"type": "object", "additionalProperties": True},
]
