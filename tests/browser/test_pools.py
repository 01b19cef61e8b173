"""An admin in Chromium adds a question pool to an exam: refused while its tag is unknown,
saved with its draws and points, shown with how many questions it can draw from, and
refused at publish while it is too small; then a student's attempt holds its draw."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from shared.models import Role
from shared.services import exams
from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_question, make_user

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_pool_in_the_exam_editor(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN)
        student = make_user(session, settings)
        fixed = make_question(session, prompt="Which city is the capital of France?")
        for n in range(3):
            make_question(session, prompt=f"Algebra {n}?", tags=["algebra"])
        exam = exams.create_exam(
            session, {"title": "Maths quiz", "duration_seconds": 600, "audience": "everyone"}
        )
        exams.set_questions(session, exam.id, [{"question_id": fixed.id}])
        session.commit()
    stack.start(worker=False)

    page = browser.new_page(f"{stack.url}/#/admin/exams/{exam.id}")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Maths quiz")).to_be_visible()
    add_pool = page.get_by_role("form", name="Add a pool")

    # A tag no question carries: the save says so, nothing is kept.
    add_pool.get_by_label("Tag").fill("geometry")
    add_pool.get_by_role("button", name="Add pool").click()
    page.get_by_role("button", name="Save questions").click()
    expect(page.get_by_role("alert")).to_contain_text("no question carries the tag 'geometry'")
    page.get_by_role("button", name="Remove pool 2").click()

    add_pool.get_by_label("Tag").fill("algebra")
    add_pool.get_by_label("Questions to draw").fill("2")
    add_pool.get_by_label("Points each").fill("3")
    add_pool.get_by_role("button", name="Add pool").click()
    page.get_by_role("button", name="Move pool 2 up").click()
    page.get_by_role("button", name="Save questions").click()
    expect(page.get_by_text("Questions saved.", exact=True)).to_be_visible()
    questions = page.get_by_role("region", name="Questions in this exam")
    expect(questions.locator("tbody tr").first).to_contain_text("Pool: 2 drawn from “algebra”")
    expect(questions.locator("tbody tr").first).to_contain_text("3 in the bank")
    expect(page.get_by_text("3 questions per student, 7 points in total.")).to_be_visible()
    assert accessibility_problems(page) == []

    saved = stack.api("GET", f"/exams/{exam.id}/questions", admin).json()
    assert [(e["pool"], e["question_id"]) for e in saved] == [
        ({"tag": "algebra", "count": 2, "points": 3, "available": 3}, None),
        (None, str(fixed.id)),
    ]

    # Asking for more than the bank holds: publishing is refused and says which pool.
    stack.api("PUT", f"/exams/{exam.id}/questions", admin,
              json={"questions": [{"pool": {"tag": "algebra", "count": 4}}]})  # fmt: skip
    page.reload()
    expect(page.get_by_text("Too few questions carry this tag to publish.")).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert")).to_contain_text("the pool at position 1 (tag 'algebra')")

    stack.api("PUT", f"/exams/{exam.id}/questions", admin,
              json={"questions": [{"pool": {"tag": "algebra", "count": 2}}]})  # fmt: skip
    assert stack.api("POST", f"/exams/{exam.id}/publish", admin, json={}).status_code == 200
    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
    assert len({q["id"] for q in attempt["questions"]}) == 2
    assert all(q["prompt"].startswith("Algebra") for q in attempt["questions"])
