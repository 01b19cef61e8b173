"""What makes the OpenAPI spec one a client can be generated from, applied to every operation:
a stable `operationId`, the error responses any route can give, and no required body where
an empty one will do. (Typed payloads live in the schemas: web/resources/*/schemas.py.)"""

from __future__ import annotations

import re
from typing import Any

from apispec import BasePlugin

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
LINK_HEADER = {
    "description": "RFC 8288 links to the first, prev, next and last pages (the request's "
    "URL with `page` changed), from the same numbers as X-Pagination",
    "schema": {"type": "string"},
}

# Added where a route doesn't say more itself (its own description is kept).
GENERIC_ERRORS = {
    "404": "not_found: no such resource, or not yours to see (a student is never told "
    "that another's exists)",
    "422": "validation_error: a field or query argument is invalid; `errors` "
    "holds per-field messages",
    "503": "overloaded (admission control: retry after `Retry-After`) or "
    "service_unavailable (the database is unreachable); nothing was done",
}


def operation_id(endpoint: str, method: str, view_is_class: bool) -> str:
    """`<blueprint>_<view function>`, snake_case (a MethodView adds `_<method>`)."""
    blueprint, _, view = endpoint.partition(".")
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", view).lower()
    return f"{blueprint}_{name}_{method}" if view_is_class else f"{blueprint}_{name}"


class ClientFriendlyPlugin(BasePlugin):
    """Runs after flask-smorest's Flask and marshmallow plugins on each path."""

    def __init__(self, view_is_class: Any) -> None:
        super().__init__()
        self._view_is_class = view_is_class
        self.spec: Any = None

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        self.spec = spec

    def operation_helper(  # type: ignore[override]
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        is_class = self._view_is_class(rule.endpoint)
        for method, operation in operations.items():
            operation.setdefault("operationId", operation_id(rule.endpoint, method, is_class))
            responses = operation.setdefault("responses", {})
            wanted = ["503"]
            if "{" in (path or "") or "<" in rule.rule:
                wanted.append("404")  # a path id that names nothing (or isn't an id)
            if operation.get("parameters") or "requestBody" in operation:
                wanted.append("422")
            present = {str(code) for code in responses}  # flask-smorest's keys are ints
            for code in wanted:
                if code not in present:
                    present.add(code)
                    responses[code] = {
                        "description": GENERIC_ERRORS[code],
                        "content": {"application/json": {"schema": dict(ERROR_REF)}},
                    }
            _optional_empty_body(operation, self.spec.components.schemas)
            for code, response in responses.items():
                if not isinstance(response, dict):
                    continue
                content = response.get("content", {})
                is_error = str(code) == "default" or str(code) >= "400"
                if is_error and content.get("application/json", {}).get("schema") == ERROR_REF:
                    content.setdefault("application/problem+json", {"schema": dict(PROBLEM_REF)})
                headers = response.get("headers", {})
                if "X-Pagination" in headers:
                    headers.setdefault("Link", dict(LINK_HEADER))


def _optional_empty_body(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A body whose schema requires nothing (NoBody, `{answers?}`...) may be left out."""
    body = operation.get("requestBody")
    if not body:
        return
    for media in body.get("content", {}).values():
        schema = media.get("schema") or {}
        ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
        definition = schemas.get(ref.rpartition("/")[2]) if ref else schema
        if not isinstance(definition, dict) or definition.get("required"):
            return
    body["required"] = False


def finish(spec: Any) -> None:
    """flask-smorest's shared responses (`default`, the pagination's 422) get the
    problem+json alternative too, and the 422 says what it is."""
    for name, response in spec.components.responses.items():
        content = response.get("content", {})
        if "application/json" in content:
            content.setdefault("application/problem+json", {"schema": dict(PROBLEM_REF)})
        if name == "UNPROCESSABLE_ENTITY":
            response["description"] = GENERIC_ERRORS["422"]
