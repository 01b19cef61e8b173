"""Item analysis through the API, checked against statistics computed by hand.

The hand-computed exam: four questions, six graded attempts (S1..S6, submitted in that order)
and one attempt still running (which must not count).

    Q1 single choice, key B, 1 pt      Q2 true/false, key true, 1 pt
    Q3 essay, 2 pts, graded by hand    Q4 multiple choice, key A+C, all-or-nothing, 1 pt

    attempt  Q1 (response)  Q2        Q3   Q4 (response)   total  % of 5
    S1       1 (B)          1 (true)  2    1 (A,C)         5      100
    S2       1 (B)          1 (true)  2    0 (A)           4       80
    S3       0 (A)          1 (true)  1    1 (A,C)         3       60
    S4       1 (B)          0 (false) 2    0 (omitted)     3       60
    S5       0 (C)          1 (true)  0    0 (B)           1       20
    S6       0 (A)          0 (false) 0    0 (A,B)         0        0

Totals: mean 16/6 = 2.6667; median (3+3)/2 = 3; deviations from 8/3 squared:
49/9, 16/9, 1/9, 1/9, 25/9, 64/9 -> sum 156/9, population variance 156/54 = 26/9 = 2.8889,
stdev sqrt(2.8889) = 1.6997.

Facility: Q1 3/6 = 0.5; Q2 4/6 = 0.6667; Q3 (1+1+.5+1+0+0)/6 = 0.5833; Q4 2/6 = 0.3333.

Discrimination: groups of round(0.27 * 6) = 2; upper = S1, S2 (5, 4), lower = S6, S5 (0, 1).
Q1 1 - 0 = 1.0; Q2 1 - 0.5 = 0.5; Q3 1 - 0 = 1.0; Q4 0.5 - 0 = 0.5.

Corrected point-biserial, r(item, total - item):
Q1 x = 1,1,0,1,0,0, rest = 4,3,3,2,1,0: sxy = 2.5, sxx = 1.5, syy = 390/36 = 10.8333,
   r = 2.5 / sqrt(16.25) = 0.6202.
Q2 x = 1,1,1,0,1,0, rest = 4,3,2,3,0,0: sxy = 1, sxx = 4/3, syy = 14, r = 1/sqrt(18.667) = 0.2315.
Q3 x = 2,2,1,2,0,0, rest = 3,2,2,1,1,0: sxy = 3.5, sxx = 174/36, syy = 5.5,
   r = 3.5 / sqrt(26.5833) = 0.6788.
Q4 x = 1,0,1,0,0,0, rest = 4,4,2,3,1,0: sxy = 12/9, sxx = 4/3, syy = 120/9,
   r = (4/3) / sqrt(160/9) = 0.3162.

Cronbach's alpha: item variances .25 + 2/9 + 29/36 + 2/9 = 54/36 = 1.5; total variance 26/9;
alpha = 4/3 * (1 - 1.5 / (26/9)) = 4/3 * 25/52 = 100/156 = 0.6410.

Options: Q1 A 2 (S3, S6), B 3, C 1; Q2 true 4, false 2; Q4 A 4 (S1, S2, S3, S6), B 2 (S5, S6),
C 2 (S1, S3), one omitted. Histogram (tenths of the percentage): bins 0, 2, 6, 6, 8, 9.
"""

from __future__ import annotations

import io

import openpyxl
import pytest

from shared.models import utcnow
from shared.services import grading
from tests.factories import login, make_exam, make_question, make_user

ROWS = [  # Q1, Q2, Q3 points by hand, Q4 (None: not answered)
    ("B", True, 2, ["A", "C"]),
    ("B", True, 2, ["A"]),
    ("A", True, 1, ["A", "C"]),
    ("B", False, 2, None),
    ("C", True, 0, ["B"]),
    ("A", False, 0, ["A", "B"]),
]


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def questions(session):
    return [
        make_question(session, "single_choice"),
        make_question(session, "true_false"),
        make_question(session, "essay", points=2),
        make_question(session, "multiple_choice", scoring="all_or_nothing", points=1),
    ]


def take(client, session, settings, exam, answers, *, grade=True):
    """A student starts, answers (by question) and submits; grading runs in-process."""
    headers = login(client, make_user(session, settings))
    attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
    batch = [
        {"question_id": str(q.question_id), "response": r}
        for q, r in zip(exam.items, answers, strict=False)
        if r is not None
    ]
    if not grade:
        client.put(
            f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": batch}, headers=headers
        )
        return attempt["id"]
    submitted = client.post(
        f"/api/v1/attempts/{attempt['id']}/submit", json={"answers": batch}, headers=headers
    )
    assert submitted.status_code == 202, submitted.get_json()
    grading.grade_submitted(session, attempt["id"], utcnow())
    session.commit()
    return attempt["id"]


def grade_essay(client, headers, attempt_id, question_id, points):
    url = f"/api/v1/attempts/{attempt_id}/answers/{question_id}/grade"
    assert client.put(url, json={"points": points}, headers=headers).status_code == 200


@pytest.fixture
def hand_exam(client, session, settings, questions, admin_headers):
    exam = make_exam(session, questions=questions)
    essay = exam.items[2].question_id
    for q1, q2, essay_points, q4 in ROWS:
        attempt_id = take(client, session, settings, exam, [q1, q2, "My essay.", q4])
        grade_essay(client, admin_headers, attempt_id, essay, essay_points)
    take(client, session, settings, exam, ["B", True, "x", ["A"]], grade=False)  # running
    return exam


def analysis(client, exam_id, headers):
    response = client.get(f"/api/v1/exams/{exam_id}/item-analysis", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_every_statistic_matches_the_hand_computed_example(client, hand_exam, admin_headers):
    body = analysis(client, hand_exam.id, admin_headers)
    assert body["attempts"] == 6
    assert body["mean"] == pytest.approx(2.6667, abs=1e-4)
    assert body["median"] == pytest.approx(3.0, abs=1e-4)
    assert body["stdev"] == pytest.approx(1.6997, abs=1e-4)
    assert body["reliability"] == pytest.approx(0.6410, abs=1e-4)
    assert body["reliability_items"] == 4
    ids = [str(item.question_id) for item in hand_exam.items]
    assert [q["question_id"] for q in body["questions"]] == ids  # exam order
    stats = [(q["facility"], q["discrimination"], q["point_biserial"]) for q in body["questions"]]
    expected = [
        (0.5, 1.0, 0.6202),
        (0.6667, 0.5, 0.2315),
        (0.5833, 1.0, 0.6788),
        (0.3333, 0.5, 0.3162),
    ]
    for found, wanted in zip(stats, expected, strict=True):
        assert found == pytest.approx(wanted, abs=1e-4)
    q1, q2, q3, q4 = body["questions"]
    assert [(o["id"], o["chosen"], o["correct"]) for o in q1["options"]] == [
        ("A", 2, False), ("B", 3, True), ("C", 1, False)
    ]  # fmt: skip
    assert [(o["id"], o["chosen"], o["correct"]) for o in q2["options"]] == [
        ("true", 4, True), ("false", 2, False)
    ]  # fmt: skip
    assert (
        q3["options"] == []
        and q3["type"] == "essay"
        and q3["mean_points"] == pytest.approx(7 / 6, abs=1e-4)
    )
    assert [(o["id"], o["chosen"], o["correct"]) for o in q4["options"]] == [
        ("A", 4, True), ("B", 2, False), ("C", 2, True)
    ]  # fmt: skip
    assert (q4["attempts"], q4["omitted"], q4["pending"]) == (6, 1, 0)
    counts = {b["from_percent"]: b["count"] for b in body["histogram"]}
    assert counts == {0: 1, 10: 0, 20: 1, 30: 0, 40: 0, 50: 0, 60: 2, 70: 0, 80: 1, 90: 1}


def test_a_pending_essay_is_left_out_of_its_question_until_graded(
    client, session, settings, questions, admin_headers
):
    exam = make_exam(session, questions=questions)
    take(client, session, settings, exam, ["B", True, "essay", ["A", "C"]])
    take(client, session, settings, exam, ["A", False, "essay", None])
    body = analysis(client, exam.id, admin_headers)
    essay = body["questions"][2]
    assert (essay["attempts"], essay["pending"], essay["facility"]) == (2, 2, None)
    assert body["questions"][0]["facility"] == 0.5
    assert body["reliability"] is None  # no attempt is complete on all four questions


def test_the_spreadsheet_holds_the_same_figures_with_safe_cells(
    client, session, settings, admin_headers
):
    question = make_question(
        session, "single_choice", options=[{"text": "=1+1"}, {"text": "@x"}], correct_answer="A"
    )
    exam = make_exam(session, questions=[question, make_question(session, "true_false")])
    take(client, session, settings, exam, ["A", True])
    take(client, session, settings, exam, ["B", True])
    response = client.get(f"/api/v1/exams/{exam.id}/item-analysis.xlsx", headers=admin_headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Summary", "Histogram", "Questions", "Options"]
    summary = dict(book["Summary"].iter_rows(min_row=2, values_only=True))
    assert summary["attempts"] == 2 and summary["mean"] == 1.5
    questions = list(book["Questions"].iter_rows(values_only=True))
    assert questions[0][9] == "facility" and [row[9] for row in questions[1:]] == [0.5, 1.0]
    options = list(book["Options"].iter_rows(min_row=2, values_only=True))
    assert [(row[2], row[3], row[5]) for row in options[:2]] == [("A", "'=1+1", 1), ("B", "'@x", 1)]
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)


def test_no_graded_attempt_is_an_empty_analysis(client, session, settings, admin_headers):
    exam = make_exam(session)
    take(client, session, settings, exam, ["B"], grade=False)  # running only
    body = analysis(client, exam.id, admin_headers)
    assert body["attempts"] == 0 and body["questions"] == []
    assert (body["mean"], body["median"], body["stdev"], body["reliability"]) == (None,) * 4
    assert sum(b["count"] for b in body["histogram"]) == 0
    xlsx = client.get(f"/api/v1/exams/{exam.id}/item-analysis.xlsx", headers=admin_headers)
    assert xlsx.status_code == 200


def test_one_attempt_and_zero_variance_leave_undefined_figures_null(
    client, session, settings, admin_headers
):
    exam = make_exam(
        session, questions=[make_question(session), make_question(session, "true_false")]
    )
    take(client, session, settings, exam, ["B", True])
    one = analysis(client, exam.id, admin_headers)
    assert (one["attempts"], one["mean"], one["stdev"], one["reliability"]) == (1, 2.0, 0.0, None)
    assert one["questions"][0]["discrimination"] is None
    assert one["questions"][0]["point_biserial"] is None
    take(client, session, settings, exam, ["B", True])  # the same score again: no variance
    same = analysis(client, exam.id, admin_headers)
    assert (same["attempts"], same["stdev"], same["reliability"]) == (2, 0.0, None)
    assert same["questions"][0]["facility"] == 1.0
    assert same["questions"][0]["point_biserial"] is None


def test_students_get_403_and_an_unknown_exam_is_404(client, session, settings, admin_headers):
    exam = make_exam(session)
    student = login(client, make_user(session, settings))
    for path in ("item-analysis", "item-analysis.xlsx"):
        refused = client.get(f"/api/v1/exams/{exam.id}/{path}", headers=student)
        assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
        unknown = client.get(
            f"/api/v1/exams/00000000-0000-4000-8000-000000000000/{path}", headers=admin_headers
        )
        assert unknown.status_code == 404 and unknown.get_json()["error"] == "not_found"
