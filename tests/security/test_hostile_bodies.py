"""Hostile numbers and deep nesting sent to every operation of the OpenAPI spec that takes a
JSON body, and deep nesting to every route of the URL map: never a 5xx.

Each operation gets a body that its schema accepts (a known-good one where a real id or a
consistent question is needed, else one built from the spec, so an operation added
tomorrow is covered too); then every place in it, one at a time, holds each hostile
number. What no field can hold is a 422 `validation_error` at the door; numbers at the
edges (-0, 1e15, 1e-300, ...) reach the schemas and services and may be anything but a 5xx.
Every request runs in a savepoint that is rolled back, so no request changes what the next
one sees. A few thousand requests, in about half a minute."""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import bearer, login, login_tokens, make_exam, make_question
from tests.security.conftest import api_routes

HUGE_INT = "1" + "0" * 5000
UNFIT = ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1e16", "-1e16", HUGE_INT]
EDGES = ["-0", "-0.0", "1e15", "999999999999999.9", "1e-300", "1.5", "-1"]
DEEP = "[" * 100_000 + "]" * 100_000
METHODS = ("get", "put", "post", "delete", "patch")
MARK = "\u2603hostile\u2603"  # where a literal goes; json.dumps cannot write NaN or 1e309


class Ids(dict[str, str]):
    """The world's ids; a path parameter it has none for gets a fresh uuid (a 404 then,
    which is fine: the body is checked before the route's view runs)."""

    def __missing__(self, name: str) -> str:
        return str(uuid.uuid4())


def spec_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or "allOf" in schema:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        else:
            schema = schema["allOf"][0]
    return schema


def sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A value the schema describes, every optional property included."""
    schema = resolve(schema, spec)
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: sample(prop, spec)
            for name, prop in schema.get("properties", {}).items()
            if not prop.get("readOnly")
        }
    if kind == "array":
        return [sample(schema.get("items", {}), spec)]
    if kind == "string":
        return {"date-time": "2030-01-01T00:00:00Z", "uuid": str(uuid.uuid4())}.get(
            schema.get("format", ""), "x"
        )
    if kind == "boolean":
        return False
    return 1  # a number, or any JSON (a question's key, a response)


def places(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every place in a body (not the body itself): object members and first list items."""
    if isinstance(value, dict | list):
        for key, item in value.items() if isinstance(value, dict) else enumerate(value[:1]):
            yield (*path, key)
            yield from places(item, (*path, key))


def with_literal(body: Any, path: tuple, literal: str) -> str:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = MARK
    return json.dumps(changed).replace(json.dumps(MARK), literal)


@pytest.fixture
def targets(world, session, client):  # type: ignore[no-untyped-def]
    """Ids where the services, not only the schemas, get to see a number: a numeric
    question, a draft exam holding it, and the owner's attempt at an exam of it."""
    numeric = make_question(session, "numeric")
    draft = make_exam(session, questions=[numeric], publish=False)
    exam = make_exam(session, questions=[numeric], max_attempts=3)
    started = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=login(client, world.owner))
    session.commit()
    return {"question_id": str(numeric.id), "draft_id": str(draft.id),
            "attempt_id": started.get_json()["id"]}  # fmt: skip


def known_good(targets: dict[str, str]) -> dict[str, tuple[dict[str, str], list[Any]]]:
    """Path ids and bodies for operations that a body built from the spec alone can't reach."""
    answers = {"answers": [{"question_id": targets["question_id"], "response": 1, "seq": 1}]}
    question = {"question_id": targets["question_id"]}
    return {
        "POST /api/v1/questions": ({}, [
            {"type": "numeric", "prompt": "p", "correct_answer": 1, "tolerance": 0, "points": 1,
             "tags": ["t"], "explanation": "e"},
            {"type": "multiple_choice", "prompt": "p", "options": [{"id": "A", "text": "a"},
             {"id": "B", "text": "b"}], "correct_answer": ["A"], "scoring": "partial"},
        ]),
        "PATCH /api/v1/questions/{question_id}": (question, [
            {"correct_answer": 1, "tolerance": 0, "points": 1}
        ]),
        "PUT /api/v1/exams/{exam_id}/questions": ({"exam_id": targets["draft_id"]}, [
            {"questions": [{"question_id": targets["question_id"], "points": 1}]}
        ]),
        "PUT /api/v1/attempts/{attempt_id}/answers": ({"attempt_id": targets["attempt_id"]},
                                                      [answers]),
        "POST /api/v1/attempts/{attempt_id}/submit": ({"attempt_id": targets["attempt_id"]},
                                                      [answers]),
    }  # fmt: skip


def test_hostile_numbers_and_deep_nesting_to_every_json_operation(app, client, db, world, targets):
    spec = client.get("/api/openapi.json").get_json()
    auth = {(r.method, spec_path(r.rule)): r.auth for r in api_routes(app)}
    tokens = {
        "admin": login(client, world.admin),
        "student": login(client, world.owner),
        "refresh": bearer(login_tokens(client, world.owner)["refresh_token"]),
    }
    connection = db.kw["bind"]
    overrides = known_good(targets)
    failures, counts, operations = [], Counter(), 0

    def call(method: str, url: str, body: str, headers: dict[str, str]) -> Any:
        savepoint = connection.begin_nested()
        try:
            return client.open(url, method=method, data=body, headers=headers,
                               content_type="application/json")  # fmt: skip
        finally:
            savepoint.rollback()

    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:  # path-level "parameters"
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            operations += 1
            key = f"{method.upper()} {path}"
            ids, bodies = overrides.get(key, ({}, None))
            bodies = bodies or [sample(content["application/json"]["schema"], spec)]
            url = path.format_map(Ids({**world.ids, **ids}))
            route = auth.get((method.upper(), path)) or {}
            role = "refresh" if route.get("refresh") else (
                "admin" if route.get("roles") == ("admin",) else "student"
            )  # fmt: skip
            cases = [("$", DEEP, 400)]  # the whole body too deep, and in place of a value
            cases += [("$", literal, 422) for literal in UNFIT]
            for body in bodies:
                for where in places(body):
                    cases.append((where, with_literal(body, where, DEEP), 400))
                    cases += [(where, with_literal(body, where, n), 422) for n in UNFIT]
                    cases += [(where, with_literal(body, where, n), None) for n in EDGES]
            for where, text, expected in cases:
                response = call(method.upper(), url, text, tokens[role])
                counts[response.status_code // 100] += 1
                problem = _problem(response, expected)
                if problem:
                    failures.append(f"{key} at {where}: {problem}")
    assert operations >= 15  # every operation with a JSON body, not a corner of them
    assert not failures, "\n".join(failures[:50])
    assert counts[5] == 0 and counts[4] > 1000


def _problem(response: Any, expected: int | None) -> str | None:
    body = response.get_json(silent=True)
    if response.status_code >= 500:
        return f"{response.status_code} {body}"
    if expected is not None and response.status_code != expected:
        return f"{response.status_code} instead of {expected}: {body}"
    if response.status_code >= 400 and not (
        isinstance(body, dict) and body.get("code") == response.status_code and body.get("error")
    ):
        return f"{response.status_code} without the contract's error shape: {body}"
    return None


def test_deep_nesting_to_every_route_is_a_400_malformed_request(app, client, world):
    headers = login(client, world.admin)
    routes = api_routes(app)
    assert len(routes) >= 40
    for route in routes:
        response = client.open(route.path(Ids(world.ids)), method=route.method, data=DEEP,
                               content_type="application/json", headers=headers)  # fmt: skip
        body = response.get_json()
        assert (response.status_code, body["error"]) == (400, "malformed_request"), str(route)
