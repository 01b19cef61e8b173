"""Numbers no field can hold and dates at the ends of the calendar are a 422
`validation_error` naming the field, never a 500 or a stored value that breaks a later
read: at the door for every JSON body (NaN, Infinity, 1e309, thousands of digits, above
1e15), in the domain for what passes it (points, tolerance places, imported cells, dates)."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from shared.models import Answer
from tests.api.raw_requests import HUGE_INT, error_of, send
from tests.factories import login, make_exam, make_question

# Numbers no field takes: the door (web/input_guard.py) refuses them for every route.
UNFIT_NUMBERS = [HUGE_INT, "1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1e16", "-1e16"]


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def headers(client, student):
    return login(client, student)


def numeric_question(**fields) -> str:
    body = {"type": "numeric", "prompt": "How far?", "correct_answer": 1, **fields}
    return json.dumps(body)


@pytest.mark.parametrize("number", UNFIT_NUMBERS)
@pytest.mark.parametrize("field", ["correct_answer", "tolerance", "points"])
def test_an_unfit_number_in_a_question_is_a_422_naming_the_field(
    client, admin_headers, field, number
):
    body = numeric_question(**{field: "@"}).replace('"@"', number)
    response = send(client, "POST", "/api/v1/questions", body, admin_headers)
    assert field in error_of(response, 422, "validation_error")["errors"]["json"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("correct_answer", 1e15 + 2), ("tolerance", 1e15 + 2), ("tolerance", 1e-13),
     ("points", 10000.01)],
)  # fmt: skip
def test_numbers_just_past_a_limit_are_a_422(client, admin_headers, field, value):
    body = numeric_question(**{field: value})
    response = send(client, "POST", "/api/v1/questions", body, admin_headers)
    assert field in error_of(response, 422, "validation_error")["errors"]["json"]


def test_numbers_at_the_limits_are_kept_exactly(client, admin_headers):
    body = numeric_question(correct_answer=-1e15, tolerance=1e15, points=10000)
    response = send(client, "POST", "/api/v1/questions", body, admin_headers)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["correct_answer"] == -(10**15) and created["tolerance"] == 10**15
    assert created["points"] == 10000
    minus_zero = send(client, "POST", "/api/v1/questions", numeric_question(correct_answer=-0.0),
                      headers=admin_headers)  # fmt: skip
    assert minus_zero.status_code == 201 and minus_zero.get_json()["correct_answer"] == 0


@pytest.mark.parametrize("number", [*UNFIT_NUMBERS, "10000.01", "1e9"])
def test_an_unfit_points_override_in_an_exam_is_a_422(client, admin_headers, session, number):
    exam = make_exam(session, publish=False)
    item = f'{{"question_id": "{exam.items[0].question_id}", "points": {number}}}'
    response = send(client, "PUT", f"/api/v1/exams/{exam.id}/questions",
                    f'{{"questions": [{item}]}}', admin_headers)  # fmt: skip
    error_of(response, 422, "validation_error")


@pytest.mark.parametrize("number", [*UNFIT_NUMBERS, "1e15", "10000.01"])
def test_an_unfit_manual_grade_is_a_422(client, admin_headers, session, headers, number):
    essay = make_question(session, "essay")
    exam = make_exam(session, questions=[essay])
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    answer = {"question_id": str(essay.id), "response": "Light."}
    client.post(f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": [answer]},
                headers=headers)  # fmt: skip
    url = f"/api/v1/attempts/{attempt['id']}/answers/{essay.id}/grade"
    error_of(send(client, "PUT", url, f'{{"points": {number}}}', admin_headers), 422,
             "validation_error")  # fmt: skip


@pytest.fixture
def numeric_attempt(client, headers, session):
    question = make_question(session, "numeric")
    exam = make_exam(session, questions=[question])
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    return attempt, str(question.id)


@pytest.mark.parametrize("number", UNFIT_NUMBERS)
def test_an_unfit_numeric_response_is_a_422_and_nothing_is_saved(
    client, headers, numeric_attempt, session, number
):
    attempt, qid = numeric_attempt
    body = f'{{"answers": [{{"question_id": "{qid}", "response": {number}}}]}}'
    response = send(client, "PUT", f"/api/v1/attempts/{attempt['id']}/answers", body, headers)
    assert "answers[0].response" in error_of(response, 422, "validation_error")["errors"]["json"]
    assert session.query(Answer).filter_by(attempt_id=attempt["id"]).count() == 0


@pytest.mark.parametrize(
    ("column", "cell"),
    [("correct_answer", float("inf")), ("correct_answer", float("nan")),
     ("correct_answer", 1e16), ("correct_answer", "1e999999999999999999"),
     ("correct_answer", "1" * 5000), ("tolerance", 1e-13), ("tolerance", "1e16"),
     ("points", "NaN")],
)  # fmt: skip
def test_an_unfit_number_in_an_imported_sheet_is_a_row_error(client, admin_headers, column, cell):
    book = openpyxl.Workbook()
    book.active.append(["type", "prompt", "correct_answer", "tolerance", "points"])
    row = {"type": "numeric", "prompt": "How far?", "correct_answer": 1, "tolerance": 0,
           "points": 1, column: cell}  # fmt: skip
    book.active.append(list(row.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    fields = MultiDict({"file": FileStorage(io.BytesIO(buffer.getvalue()), filename="q.xlsx")})
    stream, _, boundary = stream_encode_multipart(fields, use_tempfile=False)
    response = client.post(
        "/api/v1/questions/import", data=stream.read(), headers=admin_headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )  # fmt: skip
    body = error_of(response, 422, "validation_error")
    assert body["created"] == 0 and [(e["row"], e["column"]) for e in body["errors"]] == [
        (2, column)
    ]


def test_a_huge_integer_anywhere_is_a_422_not_a_500(client):
    response = send(client, "POST", "/api/v1/auth/login", f'{{"email": {HUGE_INT}}}')
    assert "email" in error_of(response, 422, "validation_error")["errors"]["json"]


@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00",
     "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"],
)  # fmt: skip
@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
def test_dates_at_the_ends_of_the_calendar_are_a_422(client, admin_headers, session, field, moment):
    body = {"title": "Quiz", "duration_seconds": 600, field: moment}
    created = client.post("/api/v1/exams", json=body, headers=admin_headers)
    assert field in error_of(created, 422, "validation_error")["errors"]["json"]
    exam = make_exam(session, publish=False)
    patched = client.patch(f"/api/v1/exams/{exam.id}", json={field: moment}, headers=admin_headers)
    assert field in error_of(patched, 422, "validation_error")["errors"]["json"]


def test_dates_inside_the_range_are_kept(client, admin_headers):
    body = {"title": "Quiz", "duration_seconds": 600, "opens_at": "1970-01-01T00:00:00Z",
            "closes_at": "9998-12-31T23:59:59+00:00"}  # fmt: skip
    response = client.post("/api/v1/exams", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.get_json()["closes_at"] == "9998-12-31T23:59:59+00:00"
