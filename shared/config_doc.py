"""docs/configuration.md from the Settings class: every environment variable with its type,
default and description. `python -m shared.config_doc` rewrites the file;
`python -m shared.config_doc --check` fails if it is out of date (as a test does)."""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from shared.config import Settings

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
COMMAND = "python -m shared.config_doc"

HEADER = f"""# Configuration

Every setting is an environment variable (or a line of `.env` in the working directory),
read once at start by the API, the workers and beat (`shared/config.py`). An empty value
counts as unset. Derived values (the Redis URLs of each concern, the SQLite paths of
embedded mode) are described with the variable they come from.

This file is generated from the `Settings` class: after changing a setting, run
`{COMMAND}` and commit the result (a test fails while it is out of date).

| Variable | Type | Default | Description |
|---|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    if annotation is SecretStr:
        return "secret string"
    if annotation is Path:
        return "path"
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " \\| ".join(_type_name(a) for a in args)
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: FieldInfo) -> str:
    found = []
    for item in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                found.append(f"{sign} {value}")
        if getattr(item, "max_length", None) is not None:
            found.append(f"at most {item.max_length} characters")
    return ", ".join(found)


def _default(field: FieldInfo) -> str:
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if value == "":
        return "empty"
    return f"`{value}`"


def render() -> str:
    rows = []
    for name, field in Settings.model_fields.items():
        kind = _type_name(field.annotation)
        bounds = _bounds(field)
        if bounds:
            kind += f" ({bounds})"
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {kind} | {_default(field)} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
