"""The question bank through the HTTP API: the six types, validation, search, edits, deletes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shared.models import Question
from tests.factories import QUESTION_PAYLOADS, login, make_exam, make_question

URL = "/api/v1/questions"


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


class TestCreate:
    @pytest.mark.parametrize("kind", list(QUESTION_PAYLOADS))
    def test_each_type_is_created_with_its_exact_shape(self, client, admin_headers, kind):
        response = client.post(URL, json=QUESTION_PAYLOADS[kind], headers=admin_headers)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert set(body) >= {
            "id", "type", "prompt", "options", "correct_answer", "points", "scoring",
            "tolerance", "case_sensitive", "tags", "explanation", "created_at", "updated_at",
        }  # fmt: skip
        assert body["type"] == kind and body["version"] == 1

    def test_option_ids_are_assigned_when_omitted(self, client, admin_headers):
        body = client.post(
            URL, json=QUESTION_PAYLOADS["single_choice"], headers=admin_headers
        ).get_json()
        assert [o["id"] for o in body["options"]] == ["A", "B", "C"]
        assert body["correct_answer"] == "B"

    def test_defaults_per_type(self, client, admin_headers):
        mc = client.post(
            URL,
            json={**QUESTION_PAYLOADS["multiple_choice"], "scoring": None},
            headers=admin_headers,
        ).get_json()
        assert mc["scoring"] == "all_or_nothing" and mc["points"] == 2
        numeric = client.post(
            URL,
            json={"type": "numeric", "prompt": "2+2", "correct_answer": 4},
            headers=admin_headers,
        ).get_json()
        assert numeric["tolerance"] == 0 and numeric["points"] == 1
        assert numeric["scoring"] is None and numeric["case_sensitive"] is False

    def test_numbers_are_exact_decimals(self, client, admin_headers, session):
        body = client.post(URL, json=QUESTION_PAYLOADS["numeric"], headers=admin_headers).get_json()
        assert body["correct_answer"] == 0.3 and body["points"] == 1.5
        stored = session.get(Question, body["id"])
        assert Decimal(str(stored.correct_answer)) == Decimal("0.1") + Decimal("0.2")

    def test_short_text_answers_are_trimmed(self, client, admin_headers):
        payload = {**QUESTION_PAYLOADS["short_text"], "correct_answer": ["  New   York ", "NYC"]}
        body = client.post(URL, json=payload, headers=admin_headers).get_json()
        assert body["correct_answer"] == ["New York", "NYC"]


INVALID = [
    ("single_choice", {"correct_answer": "Z"}, "correct_answer"),
    ("single_choice", {"correct_answer": ["B"]}, "correct_answer"),
    ("single_choice", {"options": [{"id": "A", "text": "x"}, {"id": "A", "text": "y"}]}, "options"),
    ("single_choice", {"options": [{"text": "only one"}]}, "options"),
    ("single_choice", {"options": [{"text": str(i)} for i in range(11)]}, "options"),
    ("single_choice", {"options": [{"text": ""}, {"text": "x"}]}, "options"),
    ("single_choice", {"options": [{"id": "not a label!", "text": "x"}, {"text": "y"}]}, "options"),
    ("single_choice", {"scoring": "partial"}, "scoring"),
    ("single_choice", {"tolerance": 1}, "tolerance"),
    ("single_choice", {"case_sensitive": True}, "case_sensitive"),
    ("multiple_choice", {"correct_answer": []}, "correct_answer"),
    ("multiple_choice", {"correct_answer": ["A", "Q"]}, "correct_answer"),
    ("multiple_choice", {"correct_answer": ["A", "A"]}, "correct_answer"),
    ("multiple_choice", {"scoring": "most"}, "scoring"),
    ("true_false", {"correct_answer": "yes"}, "correct_answer"),
    ("true_false", {"options": [{"text": "a"}, {"text": "b"}]}, "options"),
    ("short_text", {"correct_answer": []}, "correct_answer"),
    ("short_text", {"correct_answer": ["  "]}, "correct_answer"),
    ("numeric", {"correct_answer": "forty-two"}, "correct_answer"),
    ("numeric", {"correct_answer": True}, "correct_answer"),
    ("numeric", {"tolerance": -0.1}, "tolerance"),
    ("essay", {"correct_answer": "anything"}, "correct_answer"),
    ("numeric", {"correct_answer": None}, "correct_answer"),
    ("single_choice", {"points": 0}, "points"),
    ("single_choice", {"points": -2}, "points"),
    ("single_choice", {"points": 1.234}, "points"),
    ("single_choice", {"prompt": ""}, "prompt"),
    ("single_choice", {"type": "ranking"}, "type"),
    ("single_choice", {"tags": ["x" * 51]}, "tags"),
    ("single_choice", {"owner": "me"}, "owner"),
]


@pytest.mark.parametrize(("kind", "change", "field"), INVALID)
def test_inconsistent_questions_are_a_422_naming_the_field(
    client, admin_headers, kind, change, field
):
    response = client.post(URL, json={**QUESTION_PAYLOADS[kind], **change}, headers=admin_headers)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "validation_error"
    assert field in body["errors"]["json"], body


class TestSearch:
    @pytest.fixture
    def bank(self, session):
        return {
            "capital": make_question(session, "single_choice"),
            "primes": make_question(session, "multiple_choice"),
            "sum": make_question(session, "numeric", prompt="What is 50% of 2?"),
            "essay": make_question(session, "essay"),
        }

    def _ids(self, client, headers, query=""):
        response = client.get(f"{URL}?{query}", headers=headers)
        assert response.status_code == 200
        return {q["id"] for q in response.get_json()}

    def test_filters_by_type_tag_and_prompt_text(self, client, admin_headers, bank):
        assert self._ids(client, admin_headers, "type=essay") == {str(bank["essay"].id)}
        assert self._ids(client, admin_headers, "tag=maths") == {
            str(bank["primes"].id),
            str(bank["sum"].id),
        }
        assert self._ids(client, admin_headers, "q=capital OF") == {str(bank["capital"].id)}
        assert self._ids(client, admin_headers, "q=50%25") == {str(bank["sum"].id)}
        assert self._ids(client, admin_headers, "q=%25") == {str(bank["sum"].id)}  # % is literal

    def test_pagination_in_the_x_pagination_header(self, client, admin_headers, bank):
        response = client.get(f"{URL}?page=2&page_size=3", headers=admin_headers)
        assert len(response.get_json()) == 1
        pagination = json.loads(response.headers["X-Pagination"])
        assert (
            pagination["total"] == 4 and pagination["total_pages"] == 2 and pagination["page"] == 2
        )

    def test_page_size_is_capped(self, client, admin_headers):
        assert client.get(f"{URL}?page_size=1000", headers=admin_headers).status_code == 422

    def test_unknown_type_filter_is_a_422(self, client, admin_headers):
        assert client.get(f"{URL}?type=ranking", headers=admin_headers).status_code == 422


class TestEdit:
    def test_a_key_edit_bumps_the_version_and_updated_at(self, client, admin_headers, session):
        question = make_question(session)
        before = client.get(f"{URL}/{question.id}", headers=admin_headers).get_json()
        after = client.patch(
            f"{URL}/{question.id}", json={"correct_answer": "C"}, headers=admin_headers
        ).get_json()
        assert after["correct_answer"] == "C" and after["version"] == 2
        assert after["updated_at"] > before["updated_at"]

    def test_a_wording_edit_keeps_the_version(self, client, admin_headers, session):
        question = make_question(session)
        after = client.patch(
            f"{URL}/{question.id}",
            json={"prompt": "Capital city of France?"},
            headers=admin_headers,
        ).get_json()
        assert after["prompt"] == "Capital city of France?" and after["version"] == 1

    def test_an_edit_is_validated_against_the_whole_question(self, client, admin_headers, session):
        question = make_question(session)
        response = client.patch(
            f"{URL}/{question.id}", json={"correct_answer": "Q"}, headers=admin_headers
        )
        assert response.status_code == 422
        assert "correct_answer" in response.get_json()["errors"]["json"]

    def test_a_type_change_keeps_the_wording_and_drops_the_old_key(
        self, client, admin_headers, session
    ):
        question = make_question(session, "numeric")
        body = client.patch(
            f"{URL}/{question.id}",
            json={"type": "true_false", "correct_answer": False},
            headers=admin_headers,
        ).get_json()
        assert body["type"] == "true_false" and body["prompt"] == "0.1 + 0.2 = ?"
        assert body["tolerance"] is None and body["tags"] == ["maths"] and body["version"] == 2

    def test_in_a_published_exam_keys_may_change_but_not_options_or_type(
        self, client, admin_headers, session
    ):
        question = make_question(session)
        make_exam(session, questions=[question], publish=True)
        url = f"{URL}/{question.id}"
        assert (
            client.patch(
                url, json={"correct_answer": "A", "points": 3}, headers=admin_headers
            ).status_code
            == 200
        )
        options = [{"text": "Lyon"}, {"text": "Paris"}]
        blocked = client.patch(
            url, json={"options": options, "correct_answer": "B"}, headers=admin_headers
        )
        assert blocked.status_code == 409 and blocked.get_json()["error"] == "conflict"
        retype = client.patch(
            url, json={"type": "true_false", "correct_answer": True}, headers=admin_headers
        )
        assert retype.status_code == 409

    def test_in_a_draft_exam_options_may_change(self, client, admin_headers, session):
        question = make_question(session)
        make_exam(session, questions=[question], publish=False)
        options = [{"text": "Lyon"}, {"text": "Paris"}]
        response = client.patch(
            f"{URL}/{question.id}",
            json={"options": options, "correct_answer": "B"},
            headers=admin_headers,
        )
        assert response.status_code == 200 and len(response.get_json()["options"]) == 2


class TestDelete:
    def test_an_unused_question_is_deleted(self, client, admin_headers, session):
        question = make_question(session)
        assert client.delete(f"{URL}/{question.id}", headers=admin_headers).status_code == 204
        assert client.get(f"{URL}/{question.id}", headers=admin_headers).status_code == 404

    def test_a_question_any_exam_uses_cannot_be_deleted(self, client, admin_headers, session):
        question = make_question(session)
        make_exam(session, questions=[question], publish=False)
        response = client.delete(f"{URL}/{question.id}", headers=admin_headers)
        assert response.status_code == 409 and response.get_json()["error"] == "conflict"


class TestAccess:
    def test_students_are_forbidden_everywhere(self, client, student, session):
        question = make_question(session)
        headers = login(client, student)
        for method, url in [
            ("get", URL), ("post", URL), ("get", f"{URL}/{question.id}"),
            ("patch", f"{URL}/{question.id}"), ("delete", f"{URL}/{question.id}"),
            ("get", f"{URL}/import/template"), ("get", f"{URL}/export.xlsx"),
            ("post", f"{URL}/import"),
        ]:  # fmt: skip
            response = getattr(client, method)(url, headers=headers, json={})
            assert response.status_code == 403, (method, url, response.status_code)

    def test_without_a_token_it_is_401(self, client):
        assert client.get(URL).status_code == 401

    def test_unknown_and_malformed_ids_are_404(self, client, admin_headers):
        assert (
            client.get(
                f"{URL}/00000000-0000-0000-0000-000000000000", headers=admin_headers
            ).status_code
            == 404
        )
        assert client.get(f"{URL}/not-a-uuid", headers=admin_headers).status_code == 404


def test_line_endings_are_stored_as_line_feeds(client, admin_headers):
    payload = {**QUESTION_PAYLOADS["essay"], "prompt": "Line one\r\nLine two\rLine three",
               "explanation": "A\r\nB"}  # fmt: skip
    body = client.post(URL, json=payload, headers=admin_headers).get_json()
    assert body["prompt"] == "Line one\nLine two\nLine three" and body["explanation"] == "A\nB"
