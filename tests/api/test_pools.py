"""Question pools through the HTTP API: an exam entry `{pool: {tag, count, points?}}` draws
`count` distinct questions per attempt at start, stored for resume, grading, regrade and
exports. Grading runs the real service in-process; the worker path is in tests/e2e."""

from __future__ import annotations

import io

import openpyxl
import pytest

from shared.models import Attempt, utcnow
from shared.services import exams, grading, regrades
from tests.factories import leaked_keys, login, make_question, make_user

URL = "/api/v1/exams"
LETTERS = "ABC"


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def bank(session, tag, n, *, kind="single_choice", points=None, tags=(), label=None):
    """`n` questions carrying `tag`; single choice ones have their key at A, B, C in turn."""
    made = []
    for i in range(n):
        fields = {"prompt": f"{label or tag} question {i + 1}?", "tags": [tag, *tags]}
        if kind == "single_choice":
            fields["correct_answer"] = LETTERS[i % 3]
        if points is not None:
            fields["points"] = points[i] if isinstance(points, list) else points
        made.append(make_question(session, kind, **fields))
    return made


def pool_exam(session, entries, *, publish=True, **fields):
    """An exam with these entries: a Question, or a pool dict {tag, count, points?}."""
    data = {"title": "Pooled", "duration_seconds": 3600, "audience": "everyone", **fields}
    exam = exams.create_exam(session, data)
    items = [
        {"pool": entry} if isinstance(entry, dict) else {"question_id": entry.id}
        for entry in entries
    ]
    exams.set_questions(session, exam.id, items)
    if publish:
        exams.publish(session, exam.id)
    session.commit()
    return exam


def start(client, session, settings, exam, *, student=None):
    student = student or make_user(session, settings)
    headers = login(client, student)
    response = client.post(f"{URL}/{exam.id}/attempts", headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json(), headers


def correct_answers(session, attempt):
    """A right answer to every question of a started attempt (read from the bank)."""
    from shared.models import Question

    answers = []
    for shown in attempt["questions"]:
        question = session.get(Question, shown["id"])
        answers.append({"question_id": shown["id"], "response": question.correct_answer})
    return answers


def submit_and_grade(client, session, attempt, headers, answers):
    url = f"/api/v1/attempts/{attempt['id']}/submit"
    assert client.post(url, json={"answers": answers}, headers=headers).status_code == 202
    grading.grade_submitted(session, attempt["id"], utcnow())
    session.commit()


def ids(attempt):
    return [q["id"] for q in attempt["questions"]]


class TestAuthoring:
    def test_put_then_get_shows_pool_entries_in_order_with_candidate_counts(
        self, client, session, admin_headers
    ):
        fixed = make_question(session, "true_false")
        bank(session, "algebra", 4)
        exam = pool_exam(session, [], publish=False)
        body = {
            "questions": [
                {"pool": {"tag": " algebra ", "count": 2, "points": 3}},
                {"question_id": str(fixed.id)},
            ]
        }
        response = client.put(f"{URL}/{exam.id}/questions", json=body, headers=admin_headers)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["question_count"] == 3
        assert response.get_json()["max_score"] == 7  # 2 draws x 3 points + 1

        entries = client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json()
        assert [e["position"] for e in entries] == [1, 2]
        pool = entries[0]
        assert pool["question_id"] is None and pool["question"] is None
        assert pool["pool"] == {"tag": "algebra", "count": 2, "points": 3, "available": 4}
        assert pool["points"] == 6 and pool["points_override"] == 3
        assert entries[1]["question_id"] == str(fixed.id) and entries[1]["pool"] is None

    def test_a_pool_without_points_reports_its_best_draw(self, client, session, admin_headers):
        bank(session, "mixed", 3, points=[1, 4, 2])
        exam = pool_exam(session, [{"tag": "mixed", "count": 2}])
        shown = client.get(f"{URL}/{exam.id}", headers=admin_headers).get_json()
        assert shown["question_count"] == 2 and shown["max_score"] == 6  # 4 + 2

    def test_a_tag_no_question_carries_is_422_naming_the_entry(
        self, client, session, admin_headers
    ):
        fixed = make_question(session)
        exam = pool_exam(session, [], publish=False)
        body = {
            "questions": [
                {"question_id": str(fixed.id)},
                {"pool": {"tag": "nonexistent", "count": 1}},
            ]
        }
        response = client.put(f"{URL}/{exam.id}/questions", json=body, headers=admin_headers)
        assert response.status_code == 422
        error = response.get_json()
        assert error["error"] == "validation_error"
        assert error["errors"]["json"]["questions"] == [
            "item 2: no question carries the tag 'nonexistent'"
        ]
        assert client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json() == []

    @pytest.mark.parametrize(
        "entry",
        [
            {"pool": {"tag": "algebra", "count": 0}},
            {"pool": {"tag": "   ", "count": 1}},
            {"pool": {"tag": "algebra"}},
            {"pool": {"tag": "algebra", "count": 1, "points": -1}},
            {"pool": {"tag": "algebra", "count": 1, "extra": 1}},
            {"pool": {"tag": "algebra", "count": 1}, "points": 2},
            {"pool": {"tag": "algebra", "count": 1}, "question_id": None},
            {},
        ],
    )
    def test_bad_pool_entries_are_422(self, client, session, admin_headers, entry):
        bank(session, "algebra", 2)
        exam = pool_exam(session, [], publish=False)
        response = client.put(
            f"{URL}/{exam.id}/questions", json={"questions": [entry]}, headers=admin_headers
        )
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"] == "validation_error"

    def test_publish_is_409_while_a_pool_is_too_small(self, client, session, admin_headers):
        bank(session, "algebra", 2)
        exam = pool_exam(session, [{"tag": "algebra", "count": 3}], publish=False)
        refused = client.post(f"{URL}/{exam.id}/publish", json={}, headers=admin_headers)
        assert refused.status_code == 409 and refused.get_json()["error"] == "conflict"
        assert "position 1" in refused.get_json()["message"]
        assert "'algebra'" in refused.get_json()["message"]
        bank(session, "algebra", 1, label="another")
        published = client.post(f"{URL}/{exam.id}/publish", json={}, headers=admin_headers)
        assert published.status_code == 200 and published.get_json()["status"] == "published"

    def test_a_fixed_question_does_not_count_towards_its_pool(self, client, session, admin_headers):
        tagged = bank(session, "algebra", 3)
        exam = pool_exam(session, [tagged[0], {"tag": "algebra", "count": 3}], publish=False)
        refused = client.post(f"{URL}/{exam.id}/publish", json={}, headers=admin_headers)
        assert refused.status_code == 409
        entries = client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json()
        assert entries[1]["pool"]["available"] == 2

    def test_overlapping_pools_must_be_drawable_together(self, client, session, admin_headers):
        bank(session, "a", 2, tags=["b"])  # carry both tags
        exam = pool_exam(
            session, [{"tag": "a", "count": 2}, {"tag": "b", "count": 1}], publish=False
        )
        refused = client.post(f"{URL}/{exam.id}/publish", json={}, headers=admin_headers)
        assert refused.status_code == 409

    def test_a_published_exam_cannot_be_given_a_short_pool(self, client, session, admin_headers):
        bank(session, "algebra", 2)
        exam = pool_exam(session, [{"tag": "algebra", "count": 1}])
        body = {"questions": [{"pool": {"tag": "algebra", "count": 5}}]}
        response = client.put(f"{URL}/{exam.id}/questions", json=body, headers=admin_headers)
        assert response.status_code == 409 and response.get_json()["error"] == "conflict"


class TestDrawing:
    def test_draws_are_distinct_never_a_fixed_question_and_pools_do_not_overlap(
        self, client, session, settings
    ):
        algebra = bank(session, "algebra", 4)
        both = bank(session, "algebra", 3, tags=["geometry"], label="both")
        fixed = algebra[0]
        exam = pool_exam(
            session,
            [fixed, {"tag": "algebra", "count": 3}, {"tag": "geometry", "count": 2}],
        )
        geometry = {str(q.id) for q in both}
        for _ in range(8):
            attempt, _ = start(client, session, settings, exam)
            got = ids(attempt)
            assert len(got) == 6 and len(set(got)) == 6
            assert got[0] == str(fixed.id)
            assert str(fixed.id) not in got[1:]
            assert set(got[4:]) <= geometry  # the geometry pool's place in the exam order
            assert [q["position"] for q in attempt["questions"]] == [1, 2, 3, 4, 5, 6]

    def test_the_draw_is_kept_on_resume_and_on_a_second_start(self, client, session, settings):
        bank(session, "algebra", 10)
        exam = pool_exam(
            session, [{"tag": "algebra", "count": 4}], shuffle_questions=True, shuffle_options=True
        )
        first, headers = start(client, session, settings, exam)
        again = client.post(f"{URL}/{exam.id}/attempts", headers=headers)
        assert again.status_code == 200 and again.get_json()["id"] == first["id"]
        resumed = client.get(f"/api/v1/attempts/{first['id']}", headers=headers).get_json()
        for view in (again.get_json(), resumed):
            assert view["questions"] == first["questions"]  # same questions, order, options
        stored = session.get(Attempt, first["id"])
        assert set(stored.drawn) == set(ids(first)) and stored.draw_seed is not None

    def test_students_get_different_draws(self, client, session, settings):
        bank(session, "algebra", 20)
        exam = pool_exam(session, [{"tag": "algebra", "count": 5}])
        draws = {frozenset(ids(start(client, session, settings, exam)[0])) for _ in range(5)}
        assert len(draws) > 1
        seeds = {a.draw_seed for a in session.query(Attempt).filter_by(exam_id=exam.id)}
        assert len(seeds) == 5

    def test_attempt_max_score_is_exact_for_its_draw(self, client, session, settings):
        questions = bank(session, "mixed", 4, points=[1, 2, 3, 4])
        worth = {str(q.id): int(q.points) for q in questions}
        exam = pool_exam(session, [{"tag": "mixed", "count": 2}])
        for _ in range(4):
            attempt, _ = start(client, session, settings, exam)
            shown = {q["id"]: q["points"] for q in attempt["questions"]}
            assert shown == {qid: worth[qid] for qid in shown}
            assert attempt["max_score"] == sum(shown.values())

    def test_a_pool_points_apply_to_every_drawn_question(self, client, session, settings):
        bank(session, "mixed", 3, points=[1, 2, 3])
        exam = pool_exam(session, [{"tag": "mixed", "count": 2, "points": 5}])
        attempt, _ = start(client, session, settings, exam)
        assert [q["points"] for q in attempt["questions"]] == [5, 5]
        assert attempt["max_score"] == 10

    def test_students_never_see_keys_of_drawn_questions(self, client, session, settings):
        bank(session, "algebra", 5)
        bank(session, "numbers", 3, kind="numeric")
        exam = pool_exam(
            session,
            [{"tag": "algebra", "count": 2}, {"tag": "numbers", "count": 2}],
            shuffle_options=True,
        )
        attempt, headers = start(client, session, settings, exam)
        assert leaked_keys(attempt) == [] and len(attempt["questions"]) == 4
        views = [
            client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers),
            client.get(f"{URL}/{exam.id}", headers=headers),
            client.get(f"{URL}/{exam.id}/questions", headers=headers),
        ]
        assert views[2].status_code == 403
        for view in views[:2]:
            assert leaked_keys(view.get_json()) == []
        assert views[1].get_json()["question_count"] == 4

    def test_a_pool_question_the_attempt_did_not_draw_cannot_be_answered(
        self, client, session, settings
    ):
        questions = bank(session, "algebra", 3)
        exam = pool_exam(session, [{"tag": "algebra", "count": 1}])
        attempt, headers = start(client, session, settings, exam)
        other = next(str(q.id) for q in questions if str(q.id) not in ids(attempt))
        url = f"/api/v1/attempts/{attempt['id']}/answers"
        refused = client.put(
            url, json={"answers": [{"question_id": other, "response": "A"}]}, headers=headers
        )
        assert refused.status_code == 422
        mine = {"question_id": ids(attempt)[0], "response": "A"}
        assert client.put(url, json={"answers": [mine]}, headers=headers).status_code == 200

    def test_a_question_tagged_after_publishing_can_be_drawn(
        self, client, session, settings, admin_headers
    ):
        bank(session, "algebra", 2)
        exam = pool_exam(session, [{"tag": "algebra", "count": 2}])
        start(client, session, settings, exam)  # the payload is built and cached
        [late] = bank(session, "algebra", 1, label="late")
        entries = client.get(f"{URL}/{exam.id}/questions", headers=admin_headers).get_json()
        assert entries[0]["pool"]["available"] == 3
        drawn = set()
        for _ in range(12):
            drawn |= set(ids(start(client, session, settings, exam)[0]))
        assert str(late.id) in drawn

    def test_a_question_a_published_pool_draws_from_keeps_its_tag_and_stays(
        self, client, session, admin_headers
    ):
        [question, _] = bank(session, "algebra", 2)
        pool_exam(session, [{"tag": "algebra", "count": 1}])
        url = f"/api/v1/questions/{question.id}"
        untag = client.patch(url, json={"tags": ["other"]}, headers=admin_headers)
        assert untag.status_code == 409 and untag.get_json()["error"] == "conflict"
        retype = client.patch(
            url, json={"type": "true_false", "correct_answer": True}, headers=admin_headers
        )
        assert retype.status_code == 409
        assert client.delete(url, headers=admin_headers).status_code == 409
        more = client.patch(url, json={"tags": ["algebra", "other"]}, headers=admin_headers)
        assert more.status_code == 200


class TestGrading:
    def test_graded_per_drawn_question_with_shuffled_options(self, client, session, settings):
        bank(session, "algebra", 6, points=2)
        bank(session, "numbers", 3, kind="numeric")
        fixed = make_question(session, "multiple_choice")
        exam = pool_exam(
            session,
            [{"tag": "algebra", "count": 3, "points": 4}, fixed, {"tag": "numbers", "count": 1}],
            shuffle_options=True,
            shuffle_questions=True,
        )
        attempt, headers = start(client, session, settings, exam)
        assert attempt["max_score"] == 3 * 4 + 2 + 1.5
        answers = correct_answers(session, attempt)
        wrong = next(a for a in answers if isinstance(a["response"], str))
        wrong["response"] = next(o for o in LETTERS if o != wrong["response"])
        submit_and_grade(client, session, attempt, headers, answers)
        result = client.get(f"/api/v1/attempts/{attempt['id']}/result", headers=headers)
        body = result.get_json()
        assert body["score"] == attempt["max_score"] - 4 and body["max_score"] == 15.5
        assert [r["question_id"] for r in body["results"]] == ids(attempt)
        possible = {r["question_id"]: r["points_possible"] for r in body["results"]}
        assert possible == {q["id"]: q["points"] for q in attempt["questions"]}
        assert sorted(r["is_correct"] for r in body["results"]) == [False] + [True] * 4

    def test_a_drawn_essay_is_graded_by_hand_up_to_the_pools_points(
        self, client, session, settings, admin_headers
    ):
        bank(session, "essays", 2, kind="essay")
        exam = pool_exam(session, [{"tag": "essays", "count": 1, "points": 3}])
        attempt, headers = start(client, session, settings, exam)
        qid = attempt["questions"][0]["id"]
        submit_and_grade(
            client, session, attempt, headers, [{"question_id": qid, "response": "My essay"}]
        )
        queue = client.get(f"{URL}/{exam.id}/grading-queue", headers=admin_headers).get_json()
        assert [(q["question_id"], q["points_possible"]) for q in queue] == [(qid, 3)]
        url = f"/api/v1/attempts/{attempt['id']}/answers/{qid}/grade"
        too_many = client.put(url, json={"points": 4}, headers=admin_headers)
        assert too_many.status_code == 422
        graded = client.put(url, json={"points": 3}, headers=admin_headers)
        assert graded.status_code == 200
        status = client.get(f"/api/v1/attempts/{attempt['id']}/status", headers=headers)
        assert status.get_json()["score"] == 3 and status.get_json()["pending_manual"] == 0

    def test_a_regrade_changes_exactly_the_attempts_that_drew_the_question(
        self, client, session, settings, admin_headers
    ):
        questions = bank(session, "algebra", 3)
        exam = pool_exam(session, [{"tag": "algebra", "count": 1}])
        drew: dict[str, str] = {}
        for _ in range(9):
            attempt, headers = start(client, session, settings, exam)
            submit_and_grade(client, session, attempt, headers, correct_answers(session, attempt))
            drew[attempt["id"]] = ids(attempt)[0]
        # Draws are random: change a question some attempts drew (not always the first of
        # the bank, which 9 draws of 1 in 3 miss 2.6 % of the time), while others did not.
        changed = next(q for q in questions if str(q.id) in drew.values())
        assert len(set(drew.values())) > 1
        client.patch(
            f"/api/v1/questions/{changed.id}", json={"correct_answer": "C"}, headers=admin_headers
        )
        job_id = client.post(
            f"{URL}/{exam.id}/regrade", json={"dry_run": False}, headers=admin_headers
        ).get_json()["job_id"]
        session.expire_all()
        for chunk in regrades.start(session, job_id, utcnow()) or []:
            regrades.run_chunk(session, job_id, chunk, utcnow())
            regrades.refresh(session, job_id, utcnow())
        session.commit()
        job = client.get(f"/api/v1/jobs/{job_id}", headers=admin_headers).get_json()
        assert job["status"] == "succeeded" and job["total"] == 9
        expected = {a for a, qid in drew.items() if qid == str(changed.id)}
        assert {c["attempt_id"] for c in job["report"]["changes"]} == expected
        assert all((c["old_score"], c["new_score"]) == (1, 0) for c in job["report"]["changes"])
        assert job["report"]["key_versions"][str(changed.id)] == 2
        for attempt_id in drew:
            result = client.get(f"/api/v1/attempts/{attempt_id}/result", headers=admin_headers)
            assert result.get_json()["score"] == (0 if attempt_id in expected else 1)


def test_the_results_export_has_a_column_per_drawn_question(
    client, session, settings, admin_headers
):
    fixed = make_question(session, "true_false")
    questions = bank(session, "algebra", 3, points=2)
    exam = pool_exam(session, [fixed, {"tag": "algebra", "count": 1}])
    taken = {}
    for _ in range(6):
        attempt, headers = start(client, session, settings, exam)
        submit_and_grade(client, session, attempt, headers, correct_answers(session, attempt))
        taken[attempt["id"]] = ids(attempt)[1]
    xlsx = client.get(f"{URL}/{exam.id}/results.xlsx", headers=admin_headers)
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[13] == "Q1 (1 pts)"
    prompts = {str(q.id): q.prompt for q in questions}
    drawn = sorted({prompts[qid] for qid in taken.values()})
    assert list(header[14:]) == [
        f"Q2.{k} [algebra] {prompt} (2 pts)" for k, prompt in enumerate(drawn, start=1)
    ]
    for row in rows[1:]:
        mine = prompts[taken[row[0]]]
        cells = dict(zip(header[14:], row[14:], strict=True))
        assert row[13] == 1 and row[9] == 3 and row[10] == 3
        assert {h: v for h, v in cells.items() if v is not None} == {
            f"Q2.{drawn.index(mine) + 1} [algebra] {mine} (2 pts)": 2
        }
