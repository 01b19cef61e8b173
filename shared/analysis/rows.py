"""Reading hundreds of thousands of answer rows cheaply: ids and JSON arrive as text and are
converted once per distinct value, not once per row (a UUID or JSON decode per row is most
of the time an analysis of 10,000 attempts would otherwise take)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, Text, cast
from sqlalchemy.sql.elements import ColumnElement


def as_text(column: Any) -> ColumnElement[str]:
    """A UUID or JSON column as the database's text of it."""
    return cast(column, Text if column.type.__class__.__name__ in ("JSON", "JSONB") else String)


class Memo:
    """Converts a value the first time it is seen, then remembers it."""

    def __init__(self, convert: Any) -> None:
        self._convert = convert
        self._seen: dict[Any, Any] = {}

    def __call__(self, raw: Any) -> Any:
        try:
            return self._seen[raw]
        except KeyError:
            value = self._seen[raw] = None if raw is None else self._convert(raw)
            return value


def json_text() -> Memo:
    """Text of a JSON column -> the value."""
    return Memo(json.loads)
