"""An API clients can generate from: the spec's operationIds, documented errors, typed bodies
and optional empty bodies; RFC 9457 problem details on request; Link headers beside
X-Pagination. (The generated client itself runs in tests/e2e/test_generated_client.py.)"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.factories import login, login_tokens, make_question

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


class TestTheSpec:
    def test_every_operation_has_a_unique_snake_case_operation_id(self, spec):
        ids = [op.get("operationId") for _, _, op in operations(spec)]
        assert len(ids) > 50
        assert all(i and re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
        assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)

    def test_operation_ids_name_blueprint_and_view(self, spec):
        by_route = {(p, m): op["operationId"] for p, m, op in operations(spec)}
        assert by_route["/api/v1/exams/{exam_id}/attempts", "post"] == "attempts_start"
        assert by_route["/api/v1/exams/{exam_id}", "get"] == "exams_exam_item_get"

    def test_the_spec_passes_the_openapi_linter(self, spec):
        from openapi_spec_validator import validate

        validate(spec)  # raises on any error

    def test_the_linter_would_catch_a_broken_spec(self, spec):
        from openapi_spec_validator import validate

        broken = json.loads(json.dumps(spec))
        broken["paths"]["/api/v1/auth/me"]["get"]["responses"]["200"] = {"content": {}}
        with pytest.raises(Exception, match="not valid"):
            validate(broken)

    def test_every_operation_documents_overload_and_its_errors_with_the_error_schema(self, spec):
        error = {"$ref": "#/components/schemas/Error"}
        for path, method, op in operations(spec):
            responses = op["responses"]
            wanted = {"503"}
            if "{" in path:
                wanted.add("404")
            if op.get("parameters") or "requestBody" in op:
                wanted.add("422")
            if op.get("security"):
                wanted.add("401")
            assert wanted <= set(responses), (method, path, sorted(responses))
            for code in wanted:
                response = responses[code]
                if "$ref" in response:  # flask-smorest's shared responses (422, default)
                    response = spec["components"]["responses"][response["$ref"].split("/")[-1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == error or "$ref" in schema, (method, path, code)

    def test_rate_limited_routes_document_429(self, spec):
        limited = [
            ("/api/v1/auth/login", "post"),
            ("/api/v1/auth/register", "post"),
            ("/api/v1/auth/password/forgot", "post"),
            ("/api/v1/attempts/{attempt_id}/answers", "put"),
        ]
        for path, method in limited:
            assert "429" in spec["paths"][path][method]["responses"], path

    def test_a_route_keeps_its_own_error_descriptions(self, spec):
        start = spec["paths"]["/api/v1/exams/{exam_id}/attempts"]["post"]["responses"]
        assert "attempt_limit_reached" in start["409"]["description"]
        assert "not_enrolled" in start["403"]["description"]

    def test_a_documented_404_keeps_its_own_description(self, spec):
        live = spec["paths"]["/api/v1/exams/{exam_id}/live"]["get"]["responses"]
        assert live["404"]["description"] == "No such exam"

    def test_errors_document_the_problem_json_alternative(self, spec):
        problem = spec["components"]["schemas"]["Problem"]
        assert problem["properties"]["status"]["type"] == "integer"
        assert {"type", "title", "status", "code", "error"} <= set(problem["required"])
        me = spec["paths"]["/api/v1/auth/me"]["get"]["responses"]["401"]["content"]
        assert me["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert me["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}

    def test_paginated_lists_document_the_link_header(self, spec):
        ok = spec["paths"]["/api/v1/questions"]["get"]["responses"]["200"]
        assert {"X-Pagination", "Link"} <= set(ok["headers"])

    def test_no_body_is_required_where_none_is_needed(self, spec):
        paths = spec["paths"]
        for path, method in [
            ("/api/v1/exams/{exam_id}/attempts", "post"),
            ("/api/v1/attempts/{attempt_id}/submit", "post"),
            ("/api/v1/exams/{exam_id}/publish", "post"),
            ("/api/v1/auth/logout", "post"),
        ]:
            assert paths[path][method]["requestBody"]["required"] is False, path
        # ... while a body that carries required fields stays required.
        assert paths["/api/v1/attempts/{attempt_id}/answers"]["put"]["requestBody"]["required"]
        assert paths["/api/v1/auth/login"]["post"]["requestBody"]["required"]

    def test_answers_and_keys_are_typed_per_question_type(self, spec):
        schemas = spec["components"]["schemas"]
        shapes = [
            schemas["AnswerIn"]["properties"]["response"],
            schemas["Attempt"]["properties"]["answers"]["additionalProperties"],
            schemas["QuestionResult"]["properties"]["response"],
            schemas["QuestionResult"]["properties"]["correct_answer"],
            schemas["Question"]["properties"]["correct_answer"],
            schemas["QuestionIn"]["properties"]["correct_answer"],
        ]
        for shape in shapes:
            types = sorted(branch["type"] for branch in shape["oneOf"])
            assert types == ["array", "boolean", "number", "string"], shape
            assert shape["nullable"] is True

    def test_no_property_is_left_untyped(self, spec):
        untyped = [
            f"{name}.{prop}"
            for name, schema in spec["components"]["schemas"].items()
            for prop, field in schema.get("properties", {}).items()
            if not {"type", "$ref", "oneOf", "anyOf", "allOf"} & set(field)
        ]
        assert untyped == []

    def test_no_component_clashes_with_the_attempt_status_enum(self, spec):
        # A component named AttemptStatus made openapi-python-client drop Attempt entirely.
        assert "AttemptStatus" not in spec["components"]["schemas"]
        assert "AttemptStatusView" in spec["components"]["schemas"]

    def test_every_optional_body_may_really_be_left_out(self, client, spec, student, admin):
        """Bodies are parsed before the view looks anything up: with made-up ids, a route that
        accepts no body answers 404 (or 2xx/409), never 400/422 for the missing body."""
        tokens = [login(client, student), login(client, admin)]
        optional = [
            (path, method)
            for path, method, op in operations(spec)
            if op.get("requestBody", {}).get("required") is False
            and not path.startswith("/api/v1/auth/")  # below: they take other tokens
        ]
        assert len(optional) >= 15
        for path, method in optional:
            url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
            codes = [
                client.open(url, method=method.upper(), headers=headers).status_code
                for headers in tokens
            ]
            assert any(code not in (400, 401, 403, 422) and code < 500 for code in codes), codes
            assert all(code < 500 for code in codes), (path, codes)

    def test_refresh_and_logout_need_no_body(self, client, student):
        tokens = login_tokens(client, student)
        refreshed = client.post(
            "/api/v1/auth/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
        )
        assert refreshed.status_code == 200, refreshed.get_json()
        bearer = {"Authorization": f"Bearer {refreshed.get_json()['access_token']}"}
        assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
        assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401

    def test_an_empty_body_really_is_accepted(self, client, student, session):
        from tests.factories import make_exam

        exam = make_exam(session)
        headers = login(client, student)
        response = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
        assert response.status_code == 201, response.get_json()
        response = client.post(
            f"/api/v1/attempts/{response.get_json()['id']}/submit",
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 202, response.get_json()


PROBLEM = "application/problem+json"


class TestProblemDetails:
    def test_errors_stay_plain_json_by_default(self, client):
        response = client.get("/api/v1/auth/me")
        assert response.status_code == 401
        assert response.mimetype == "application/json"
        body = response.get_json()
        assert body == {
            "code": 401,
            "status": "Unauthorized",
            "message": body["message"],
            "error": "unauthorized",
        }
        assert "Accept" in response.headers["Vary"]

    def test_a_client_asking_for_problem_json_gets_rfc_9457_members(self, client):
        response = client.get("/api/v1/auth/me", headers={"Accept": PROBLEM})
        assert response.status_code == 401
        assert response.mimetype == PROBLEM
        body = json.loads(response.data)
        assert body["type"] == "urn:exam-api:error:unauthorized"
        assert body["title"] == "Unauthorized"
        assert body["status"] == 401  # a number, as RFC 9457 has it
        assert body["detail"] == body["message"]
        assert body["instance"] == "/api/v1/auth/me"
        assert body["code"] == 401 and body["error"] == "unauthorized"  # today's fields kept

    def test_problem_json_keeps_per_field_errors(self, client):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": "x@example.org"},
            headers={"Accept": f"{PROBLEM}, application/json;q=0.5"},
        )
        assert response.status_code == 422 and response.mimetype == PROBLEM
        body = json.loads(response.data)
        assert body["error"] == "validation_error" and "password" in body["errors"]["json"]

    def test_json_ranked_higher_wins(self, client):
        response = client.get(
            "/api/v1/auth/me", headers={"Accept": f"application/json, {PROBLEM};q=0.5"}
        )
        assert response.mimetype == "application/json"
        assert response.get_json()["status"] == "Unauthorized"

    def test_a_successful_response_is_never_rewritten(self, client, student):
        headers = {**login(client, student), "Accept": f"{PROBLEM}, application/json;q=0.1"}
        response = client.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 200 and response.mimetype == "application/json"


class TestLinkHeaders:
    @pytest.fixture
    def bank(self, session):
        return [make_question(session, prompt=f"Q{i}") for i in range(7)]

    def links(self, response) -> dict[str, str]:
        found = {}
        for part in response.headers.get("Link", "").split(","):
            match = re.fullmatch(r'\s*<([^>]*)>;\s*rel="(\w+)"\s*', part)
            if match:
                found[match[2]] = match[1]
        return found

    def test_link_pages_match_x_pagination(self, client, admin, bank):
        headers = login(client, admin)
        response = client.get("/api/v1/questions?page=2&page_size=3&tag=geography", headers=headers)
        assert response.status_code == 200
        meta = json.loads(response.headers["X-Pagination"])
        assert meta["page"] == 2 and meta["last_page"] == 3
        links = self.links(response)
        assert set(links) == {"first", "prev", "next", "last"}
        for rel, page in (("first", 1), ("prev", 1), ("next", 3), ("last", 3)):
            assert f"page={page}" in links[rel] and "page_size=3" in links[rel], links[rel]
            assert "tag=geography" in links[rel]  # the filters are kept
        # Following `next` gives the next page.
        following = client.get(links["next"].removeprefix("http://localhost"), headers=headers)
        assert json.loads(following.headers["X-Pagination"])["page"] == 3
        assert len(following.get_json()) == 1
        assert "next" not in self.links(following) and "prev" in self.links(following)

    def test_the_first_page_has_no_prev(self, client, admin, bank):
        response = client.get("/api/v1/questions?page_size=5", headers=login(client, admin))
        assert set(self.links(response)) == {"first", "next", "last"}
