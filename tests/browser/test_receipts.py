"""A student's receipt in Chromium: the result page shows the digest and downloads the signed
file; the checker page, signed out, says the file is genuine and an altered copy is not."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import accessibility_problems, sign_in
from tests.factories import make_exam, make_question, make_user

pytestmark = pytest.mark.browser


def test_a_student_downloads_a_receipt_and_anyone_checks_it(stack, browser, committed, settings):
    with committed() as session:
        exam = make_exam(session, questions=[make_question(session, "short_text")],
                         title="Receipt quiz")  # fmt: skip
        student = make_user(session, settings, email="grace@school.test")
    stack.start()
    attempt = stack.api("POST", f"/exams/{exam.id}/attempts", student).json()
    qid = attempt["questions"][0]["id"]
    answer = {"question_id": qid, "response": "Mercury", "seq": 1}
    stack.api("PUT", f"/attempts/{attempt['id']}/answers", student, json={"answers": [answer]})
    stack.api("POST", f"/attempts/{attempt['id']}/submit", student, json={})
    receipt = stack.api("GET", f"/attempts/{attempt['id']}/receipt", student).json()

    page = browser.new_page(stack.url + f"/#/result/{attempt['id']}")
    sign_in(page, student)
    card = page.locator(".receipt")
    expect(card.get_by_role("heading", name="Submission receipt")).to_be_visible()
    expect(card.locator(".digest")).to_have_text(receipt["answers_sha256"])
    assert accessibility_problems(page) == []
    with page.expect_download() as info:
        card.get_by_role("button", name="Download receipt").click()
    saved = info.value.path()
    assert json.loads(saved.read_text()) == receipt
    browser.screenshot(page, "receipt-on-result", element=card)

    checker = browser.new_page(stack.url + "/#/receipts/verify")
    page.close()
    checker.evaluate("localStorage.clear(); sessionStorage.clear()")
    checker.reload()
    expect(checker.get_by_role("heading", name="Check a submission receipt")).to_be_visible()
    expect(checker.locator("code.digest")).not_to_be_empty()
    checker.get_by_label("Receipt file").set_input_files(str(saved))
    expect(checker.get_by_label("Receipt", exact=True)).not_to_be_empty()
    checker.get_by_role("button", name="Check").click()
    expect(checker.get_by_role("status").filter(has_text="Genuine")).to_be_visible()
    assert accessibility_problems(checker) == []

    altered = {**receipt, "submitted_at": "2026-01-01T08:00:00.000000Z"}
    checker.get_by_label("Receipt", exact=True).fill(json.dumps(altered))
    checker.get_by_role("button", name="Check").click()
    expect(checker.get_by_role("alert")).to_contain_text("Not valid (submitted_at)")
    expect(checker.get_by_role("alert")).not_to_contain_text("Mercury")
    browser.screenshot(checker, "receipt-checker")
