"""Text the database cannot store is refused at the door, for every route at once.

PostgreSQL rejects NUL characters, and a lone UTF-16 surrogate (legal in JSON escapes)
cannot be encoded as UTF-8: either would otherwise surface as a 500 deep in a request."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_smorest import abort

MESSAGE = "text must not contain NUL characters or invalid Unicode"


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find(key, path) if isinstance(key, str) else None
            found = found or _find(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _find(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _check() -> None:
    for name, value in request.args.items(multi=True):
        if _unstorable(name) or _unstorable(value):
            abort(
                422, message=MESSAGE, errors={"query": {name: [MESSAGE]}}, error="validation_error"
            )
    if request.is_json:
        body = request.get_json(silent=True)
        where = _find(body, "") if body is not None else None
        if where is not None:
            abort(
                422,
                message=MESSAGE,
                errors={"json": {where or "$": [MESSAGE]}},
                error="validation_error",
            )


def init_input_guard(app: Flask) -> None:
    app.before_request(_check)
