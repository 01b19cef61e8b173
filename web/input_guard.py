"""Bodies and text the app cannot safely handle are refused at the door, for every route.

- A JSON body is read once here with a strict parser: nested deeper than `MAX_DEPTH`
  levels, or not JSON at all → 400 `malformed_request` (a deep body is measured on the raw
  bytes *before* parsing: Python's parser recurses, and 100,000 `[` end in RecursionError).
- Numbers no field can hold: NaN and Infinity (Python's json accepts those literals), `1e309`
  (parsed as infinity), integers of thousands of digits (Python refuses to convert more
  than 4300 digits) and any magnitude above `MAX_MAGNITUDE` → 422 `validation_error`
  naming where in the body.
- Text PostgreSQL cannot store: NUL characters, and lone UTF-16 surrogates (legal in JSON
  escapes, but not UTF-8) → 422 `validation_error`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask, request
from flask_smorest import abort
from werkzeug.exceptions import HTTPException

from shared.question_types import MAX_MAGNITUDE, NUMBER_MESSAGE

MAX_DEPTH = 32
TEXT_MESSAGE = "text must not contain NUL characters or invalid Unicode"

_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
# The longest integer literal that can be at most MAX_MAGNITUDE (JSON has no leading zeros).
_MAX_INT_DIGITS = len(str(MAX_MAGNITUDE))


class _Unfit:
    """Stands in for a number no field can hold, so the walk below can say where it was."""


_UNFIT = _Unfit()


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool | None:
    """Whether JSON text nests arrays/objects deeper than `limit`; None if its brackets
    don't balance (it is not JSON). Linear in the body, and never recursive."""
    # Backslash escapes first (an escaped quote is not the end of a string), then drop
    # what lies inside strings: every other piece between quotes.
    outside = b"".join(body.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])
    brackets = outside.translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):  # each round removes the innermost level everywhere
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            return None
        brackets = shorter
    if not brackets:
        return False
    return True if b"[]" in brackets else None


def _parse_int(text: str) -> int | _Unfit:
    return int(text) if len(text.lstrip("-")) <= _MAX_INT_DIGITS else _UNFIT


def _parse_constant(_: str) -> _Unfit:  # NaN, Infinity, -Infinity
    return _UNFIT


def _strict_json(body: bytes) -> Any:
    """The body as JSON, or abort: 400 if it is not JSON or too deep."""
    depth = too_deep(body)
    if depth:
        abort(400, message=f"JSON nested deeper than {MAX_DEPTH} levels", error="malformed_request")
    try:
        if depth is None:  # unbalanced brackets: not JSON, and never fed to the parser
            raise ValueError("unbalanced brackets")
        return json.loads(
            body.decode("utf-8"), parse_int=_parse_int, parse_constant=_parse_constant
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        abort(400, message=f"the body is not valid JSON: {exc}"[:200], error="malformed_request")


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unfit_number(value: Any) -> bool:
    if value is _UNFIT:
        return True
    if isinstance(value, float):
        return not math.isfinite(value) or abs(value) > MAX_MAGNITUDE
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE


def _find(value: Any, path: str) -> tuple[str, str] | None:
    """(path, message) of the first value no field can take; depth is bounded above."""
    if isinstance(value, str):
        return (path, TEXT_MESSAGE) if _unstorable(value) else None
    if _unfit_number(value):
        return path, NUMBER_MESSAGE
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
                422,
                message=TEXT_MESSAGE,
                errors={"query": {name: [TEXT_MESSAGE]}},
                error="validation_error",
            )
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if not body.strip():  # no body at all: the route's schema decides if one is needed
        return
    found = _find(_strict_json(body), "")
    if found is not None:
        where, message = found
        abort(
            422,
            message=message,
            errors={"json": {where or "$": [message]}},
            error="validation_error",
        )


def clean_json(body: bytes) -> Any:
    """The body as JSON if this guard would let it through, else None (then the ordinary
    request, with its exact 400 or 422, must answer). For the fast lane
    (web/resources/attempts/fast_path.py)."""
    try:
        value = _strict_json(body)
    except HTTPException:
        return None
    return None if _find(value, "") is not None else value


def init_input_guard(app: Flask) -> None:
    app.before_request(_check)
