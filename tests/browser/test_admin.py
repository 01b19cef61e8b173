"""An admin in Chromium: the question bank, forms and an import with errors; then an exam
from draft to published, a live roster, the essay grading queue and a regrade."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from shared.models import Role
from tests.browser.conftest import DESKTOP, PHONE, accessibility_problems, fits_the_screen, sign_in
from tests.factories import make_question, make_user

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "interop"

HEADER = ["type", "prompt", "option_a", "option_b", "option_c", "correct_answer", "points", "tags"]


def workbook(rows: list[list]) -> bytes:  # type: ignore[type-arg]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(page, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Question file").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    )


def test_question_bank_forms_and_an_import_with_errors(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        for kind in ("single_choice", "multiple_choice", "true_false", "short_text", "numeric"):
            make_question(session, kind)
        make_question(session, "essay")
    stack.start(worker=False)

    page = browser.new_page(stack.url + "/")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Exams")).to_be_visible()
    page.get_by_role("link", name="Question bank").click()
    rows = page.get_by_role("region", name="Questions").locator("tbody tr")
    expect(rows).to_have_count(6)
    assert accessibility_problems(page) == []
    browser.screenshot(page, "07-admin-question-bank")
    page.get_by_label("Type").select_option("Multiple choice")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Which are prime?")

    # A new single-choice question through the form: three options, the first one correct.
    page.get_by_role("link", name="New question").click()
    expect(page.get_by_role("heading", name="New question")).to_be_visible()
    page.get_by_label("Prompt", exact=True).fill("What is the chemical symbol for gold?")
    page.get_by_label("Option A text").fill("Au")
    page.get_by_label("Option B text").fill("Ag")
    page.get_by_role("button", name="Add option").click()
    expect(page.get_by_label("Option C text")).to_be_focused()
    page.keyboard.type("Gd")
    page.locator(".option-row").first.get_by_label("Correct").check()
    page.get_by_label("Points").fill("2")
    page.get_by_label("Tags").fill("chemistry, week 3")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="Create question").click()
    expect(page.get_by_role("heading", name="Edit question")).to_be_visible()
    created = stack.api("GET", f"/questions/{page.url.rsplit('/', 1)[1]}", admin).json()
    assert created["correct_answer"] == "A" and created["points"] == 2
    assert [o["text"] for o in created["options"]] == ["Au", "Ag", "Gd"]
    assert created["tags"] == ["chemistry", "week 3"]

    # An import with errors: the dry run lists them by row, and nothing is created.
    page.get_by_role("link", name="Import", exact=True).click()
    upload(page, "bad.xlsx", workbook([
        ["single_choice", "Capital of Italy?", "Rome", "Milan", None, "A", 1, "geography"],
        ["riddle", "What has keys but no locks?", None, None, None, "piano", 1, None],
        ["single_choice", "Capital of Spain?", "Madrid", "Seville", None, "Z", 1, None],
    ]))  # fmt: skip
    page.get_by_role("button", name="Check (dry run)").click()
    problems = page.get_by_role("region", name="Problems in the file")
    expect(page.get_by_role("alert").filter(has_text="problems found")).to_be_visible()
    cells = problems.locator("tbody tr").locator("td")  # row, column, problem
    expect(cells).to_have_count(6)
    assert cells.all_inner_texts()[:2] == ["3", "type"]
    assert cells.all_inner_texts()[3:5] == ["4", "correct_answer"]
    assert accessibility_problems(page) == []
    browser.screenshot(page, "08-import-errors", full_page=True)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported")

    upload(page, "good.xlsx", workbook([
        ["single_choice", "Capital of Italy?", "Rome", "Milan", None, "A", 1, "geography"],
        ["true_false", "The Moon orbits the Earth.", None, None, None, "TRUE", 1, None],
    ]))  # fmt: skip
    page.get_by_role("button", name="Check (dry run)").click()
    expect(page.get_by_role("status").filter(has_text="would be created")).to_contain_text("2")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported 2 questions.")).to_be_visible()
    listed = stack.api("GET", "/questions", admin, params={"page_size": 50}).json()
    assert len(listed) == 9

    with page.expect_download() as download:
        page.get_by_role("button", name="Download template").click()
    assert download.value.suggested_filename == "questions-template.xlsx"
    with open(download.value.path(), "rb") as saved:
        header = next(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert "type" in [str(cell).lower() for cell in header]

    # Moodle files: a matching question is a problem naming it; a good file imports with
    # notes on what it loses; the bank exports in a chosen format.
    upload(page, "bank.gift", (FIXTURES / "moodle_unsupported.gift").read_bytes())
    page.get_by_role("button", name="Check (dry run)").click()
    problems = page.get_by_role("region", name="Problems in the file")
    expect(problems).to_contain_text("matching questions cannot be imported")
    upload(page, "quiz.xml", (FIXTURES / "moodle_supported.xml").read_bytes())
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported 7 questions.")).to_be_visible()
    notes = page.get_by_role("region", name="Notes on the file")
    expect(notes).to_contain_text("map.png")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "08b-import-moodle-notes", full_page=True)
    page.get_by_role("link", name="See them in the question bank").click()
    page.get_by_label("Export format").select_option("moodle_xml")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export", exact=True).click()
    assert download.value.suggested_filename == "questions.xml"
    assert b'<question type="multichoice">' in Path(download.value.path()).read_bytes()


def access_token_expiry(page) -> float:  # type: ignore[no-untyped-def]
    token = json.loads(page.evaluate("sessionStorage.getItem('exam.session')"))["access"]
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return float(claims["exp"])


def take(stack, student, exam_id: str, choice: str, essay: str) -> str:  # type: ignore[no-untyped-def]
    """A student answers and submits over the API (the student pages have their own tests)."""
    attempt = stack.api("POST", f"/exams/{exam_id}/attempts", student).json()
    ids = {q["type"]: q["id"] for q in attempt["questions"]}
    answers = [
        {"question_id": ids["single_choice"], "response": choice},
        {"question_id": ids["essay"], "response": essay},
    ]
    submitted = stack.api("POST", f"/attempts/{attempt['id']}/submit", student,
                          json={"answers": answers})  # fmt: skip
    assert submitted.status_code == 202, submitted.text
    return attempt["id"]


def test_an_exam_from_draft_to_regrade(stack, browser, committed, settings):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        make_question(session, prompt="Which city is the capital of France?")
        make_question(session, "essay", prompt="Explain photosynthesis in two sentences.")
        names = ("Ada Lovelace", "Alan Turing", "Katherine Johnson")
        students = [make_user(session, settings, full_name=name) for name in names]
    # Access tokens that expire during the test: the pages must refresh and carry on.
    stack.start(JWT_ACCESS_TOKEN_SECONDS="30")
    refreshed = []

    page = browser.new_page(stack.url + "/")
    page.on("response", lambda r: r.url.endswith("/auth/refresh") and refreshed.append(r.status))
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Exams")).to_be_visible()
    signed_in_until = access_token_expiry(page)

    # Draft -> questions -> published.
    page.get_by_role("link", name="New exam").click()
    page.get_by_label("Title").fill("Biology final")
    page.get_by_label("Duration (minutes)").fill("20")
    page.get_by_label("Results are shown").select_option("As soon as graded")
    page.get_by_role("button", name="Create exam").click()
    expect(page.get_by_role("heading", name="Biology final")).to_be_visible()
    # A new exam is for assigned students only; this one is for every student.
    audience = page.get_by_role("region", name="Audience")
    expect(audience.locator(".summary")).to_have_text("0 students may sit this exam.")
    audience.get_by_label("Every student").check()
    audience.get_by_role("button", name="Save audience").click()
    expect(audience.locator(".summary")).to_have_text(
        "Every active student may sit this exam (3 now)."
    )
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name=re.compile("^Add: Which city")).click()
    page.get_by_role("button", name=re.compile("^Add: Explain")).click()
    page.get_by_label("Points for question 2 (default 5)").fill("4")
    page.get_by_role("button", name="Save questions").click()
    expect(page.get_by_text("Questions saved.", exact=True)).to_be_visible()
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(page.locator(".status-line")).to_contain_text("Published")
    page.get_by_label("Student ID").fill(str(students[2].user.id))
    page.get_by_label("Extra minutes").fill("10")
    page.get_by_role("button", name="Set extra time").click()
    expect(page.get_by_role("region", name="Students with extra time")).to_contain_text("10:00")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "09-exam-editor", full_page=True)
    exam_id = page.url.rsplit("/", 1)[1]

    # Two students submit; the roster shows their grades, then a third starts: it updates.
    take(stack, students[0], exam_id, "B", "Plants turn light, water and CO2 into sugar.")
    take(stack, students[1], exam_id, "A", "It is how plants breathe at night.")
    page.get_by_role("link", name="Roster").click()
    attempts = page.get_by_role("region", name="Attempts")
    expect(attempts.locator("tbody tr")).to_have_count(2)
    expect(attempts).to_contain_text("1 / 5")  # graded while the essay waits for a human
    stack.api("POST", f"/exams/{exam_id}/attempts", students[2])
    expect(attempts.locator("tbody tr")).to_have_count(3)
    expect(attempts.locator("tbody tr").nth(2)).to_contain_text("In progress")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "10-roster")
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)  # the table scrolls inside its box, not the page
    page.set_viewport_size(DESKTOP)

    # The essay grading queue.
    page.get_by_role("link", name="Grading queue").click()
    items = page.locator(".grading-item:not(.done)")
    expect(items).to_have_count(2)
    assert accessibility_problems(page) == []
    browser.screenshot(page, "11-grading-queue", full_page=True)
    first = items.first
    first.get_by_label("Points (0 to 4)").fill("3.5")
    first.get_by_label("Feedback for the student (optional)").fill("Clear and correct.")
    first.get_by_role("button", name="Save grade").click()
    expect(page.get_by_role("status").filter(has_text="needs grading")).to_have_text(
        "1 answer needs grading."
    )
    expect(page.locator(".grading-item.done")).to_contain_text("Total now 4.5 / 5")

    # By now the first access token has expired (or we wait until it has).
    page.wait_for_function("(until) => Date.now() / 1000 > until", arg=signed_in_until + 1,
                           timeout=40000)  # fmt: skip

    # The key was wrong: fix it in the bank, preview the regrade, then run it.
    page.get_by_role("link", name="Question bank").click()
    page.get_by_role("link", name="Which city is the capital of France?").click()
    page.locator(".option-row").first.get_by_label("Correct").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exams").click()
    page.get_by_role("link", name="Regrade: Biology final").click()
    page.get_by_role("button", name="Preview changes (dry run)").click()
    report = page.get_by_role("region", name="Scores that would change")
    expect(report.locator("tbody tr")).to_have_count(2)
    expect(report).to_contain_text("Ada Lovelace")
    expect(page.locator("progress")).to_have_attribute("value", "2")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "12-regrade", full_page=True)
    page.get_by_role("button", name="Regrade now").click()
    page.get_by_role("dialog").get_by_role("button", name="Regrade").click()
    expect(page.get_by_text("Regrade finished: 2 of 2 scores changed.")).to_be_visible()
    kept = page.get_by_role("region", name="Grades given by hand, kept")
    expect(kept.locator("tbody tr")).to_have_count(1)  # the essay graded above keeps its 3.5
    assert refreshed and set(refreshed) == {200}  # the expired token was refreshed, once or more

    page.get_by_role("link", name="Roster").click()
    expect(page.get_by_role("region", name="Attempts")).to_contain_text("3.5 / 5")
    with page.expect_download() as download:
        page.get_by_role("button", name="Results (.csv)").click()
    csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert students[0].email in csv and students[1].email in csv
