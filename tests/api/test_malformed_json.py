"""JSON a parser would choke on is a 400 `malformed_request` for every route, before any
view runs (web/input_guard.py): nested deeper than 32 levels (100,000 used to end in a
RecursionError, a 500), or not JSON at all."""

from __future__ import annotations

import json

import pytest

from tests.api.raw_requests import error_of, send
from tests.factories import login, make_exam


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/register"),
     ("POST", "/api/v1/questions"), ("GET", "/api/v1/exams"), ("GET", "/api/v1/nothing-here")],
)  # fmt: skip
def test_json_nested_100000_levels_deep_is_a_400_malformed_request(client, method, path):
    error_of(send(client, method, path, nested(100_000)), 400, "malformed_request")
    error_of(send(client, method, path, '{"a":' * 100_000 + "1" + "}" * 100_000), 400,
             "malformed_request")  # fmt: skip


def test_32_levels_are_read_and_33_are_refused(client):
    at_limit = '{"email": ' + nested(31, '"x"') + ', "password": "p"}'  # 32 levels
    body = error_of(send(client, "POST", "/api/v1/auth/login", at_limit), 422, "validation_error")
    assert "email" in body["errors"]["json"]  # read, then refused by the schema
    too_deep = '{"email": ' + nested(32, '"x"') + ', "password": "p"}'
    error_of(send(client, "POST", "/api/v1/auth/login", too_deep), 400, "malformed_request")


def test_brackets_inside_strings_are_text_not_nesting(client, student):
    body = json.dumps({"email": student.email, "password": '[{"\\' * 60})
    error_of(send(client, "POST", "/api/v1/auth/login", body), 401, "invalid_credentials")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"email": ', b"[" * 5000, b"]" * 5000, b'{"a": "\\', b'{"a": 1}}',
     b"\xff\xfe{}", b'{"a": 01}', b"\xef\xbb\xbf{}"],
    ids=["garbage", "truncated", "unclosed", "unopened", "bad-escape", "extra", "not-utf8",
         "leading-zero", "bom"],
)  # fmt: skip
def test_a_body_that_is_not_json_is_a_400_malformed_request(client, body):
    error_of(send(client, "POST", "/api/v1/auth/login", body), 400, "malformed_request")


def test_an_empty_body_is_left_to_the_route(client, admin, session):
    exam = make_exam(session, publish=False)
    url = f"/api/v1/exams/{exam.id}/publish"
    response = send(client, "POST", url, b"", login(client, admin))
    assert response.status_code == 200
