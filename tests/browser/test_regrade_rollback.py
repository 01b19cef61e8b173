"""An admin in Chromium regrades an exam after fixing a key, rolls the regrade back from the
regrade page (progress and report as for a regrade), and finds the rollback after a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from shared.models import Attempt, Role
from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_question, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser


def test_a_regrade_rolled_back_from_the_regrade_page(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        question = make_question(session)
        exam = make_exam(session, title="Geography quiz", questions=[question])
        students = [
            make_user(session, settings, full_name=n) for n in ("Ada Lovelace", "Alan Turing")
        ]
    stack.start()
    for student, choice in zip(students, ("B", "A"), strict=True):
        attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
        answers = [{"question_id": str(question.id), "response": choice}]
        stack.api("POST", f"/attempts/{attempt['id']}/submit", student, json={"answers": answers})

    def scores():
        """Ada's and Alan's scores, once both are graded."""
        with committed() as session:
            rows = session.execute(select(Attempt.student_id, Attempt.status, Attempt.score))
            found = {who: float(score) for who, status, score in rows if status == "graded"}
        return [found.get(s.user.id) for s in students]

    wait_until(lambda: scores() == [1, 0], 30, "grading")
    fixed = stack.api("PATCH", f"/questions/{question.id}", admin, json={"correct_answer": "A"})
    assert fixed.ok

    page = browser.new_page(stack.url + "/")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Exams")).to_be_visible()
    page.get_by_role("link", name="Regrade: Geography quiz").click()
    page.get_by_role("button", name="Regrade now").click()
    page.get_by_role("dialog").get_by_role("button", name="Regrade").click()
    expect(page.get_by_text("Regrade finished: 2 of 2 scores changed.")).to_be_visible()

    page.get_by_role("button", name="Roll back", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    expect(page.get_by_text("Rollback finished: 2 of 2 scores changed.")).to_be_visible()
    changed = page.get_by_role("region", name="Scores that changed")
    expect(changed.locator("tbody tr")).to_have_count(2)
    expect(changed).to_contain_text("Ada Lovelace")
    expect(page.locator("progress")).to_have_attribute("value", "2")
    assert scores() == [1, 0]  # as graded before the regrade
    assert accessibility_problems(page) == []
    browser.screenshot(page, "12b-regrade-rollback", full_page=True)

    # A reload shows the last job, the rollback, which can be rolled back in turn.
    page.reload()
    expect(page.get_by_text("Rollback finished: 2 of 2 scores changed.")).to_be_visible()
    page.get_by_role("button", name="Roll back this rollback").click()
    page.get_by_role("dialog").get_by_role("button", name="Roll back").click()
    # The regrade's scores again; the new rollback can itself be rolled back.
    wait_until(lambda: scores() == [0, 1], 30, "the rollback of the rollback")
    expect(page.get_by_text("Rollback finished: 2 of 2 scores changed.")).to_be_visible()
    expect(page.get_by_role("button", name="Roll back this rollback")).to_be_visible()
