"""A student in Chromium: a timed exam through a network outage, a closed tab and the
deadline; warnings before the end; the guard against leaving with unsaved answers."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from shared.models import Answer, Attempt
from tests.browser.conftest import DESKTOP, PHONE, accessibility_problems, fits_the_screen, sign_in
from tests.factories import make_exam, make_question, make_user

pytestmark = pytest.mark.browser

EXAM_SECONDS = 30
SAVED = re.compile(r"^Saved \d\d:\d\d:\d\d$")


def seconds_shown(page) -> int:  # type: ignore[no-untyped-def]
    minutes, seconds = page.locator(".timer-value").inner_text().split(":")[-2:]
    return int(minutes) * 60 + int(seconds)


def saved_answers(stack, student, attempt_id: str) -> dict:  # type: ignore[no-untyped-def]
    return stack.api("GET", f"/attempts/{attempt_id}", student).json()["answers"]


def test_a_timed_exam_survives_an_outage_and_a_closed_tab_and_submits_itself(
    stack, browser, committed, settings
):
    with committed() as session:
        capital = make_question(session, prompt="Which city is the capital of France?")
        planet = make_question(session, "short_text")
        sum_ = make_question(session, "numeric")
        make_exam(session, questions=[capital, planet, sum_], title="Science quiz",
                  description="Three short questions. Answers save as you go.",
                  duration_seconds=EXAM_SECONDS)  # fmt: skip
        student = make_user(session, settings, full_name="Ada Lovelace", email="ada@school.test")
    stack.start(beat=True)

    page = browser.new_page(stack.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert accessibility_problems(page) == []
    browser.screenshot(page, "01-sign-in")
    sign_in(page, student)

    expect(page.get_by_role("heading", name="My exams")).to_be_visible()
    expect(page.locator(".exam-card")).to_contain_text("Not started")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "02-student-exams")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("dialog").get_by_role("button", name="Start now").click()
    expect(page).to_have_url(re.compile(r"#/attempt/[\w-]+$"))
    expect(page.get_by_role("timer")).to_be_visible()
    attempt_id = page.url.rsplit("/", 1)[1]
    badge = page.locator(".save-badge")

    page.get_by_label("Paris").check()
    expect(badge).to_have_text(SAVED)
    assert saved_answers(stack, student, attempt_id) == {str(capital.id): "B"}

    # The network goes away: the answer waits on the device and the badge says so.
    browser.context.set_offline(True)
    page.get_by_label("Your answer", exact=True).fill("Jupiter")
    expect(badge).to_have_text("Offline — retrying")
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)  # the browser warns before losing unsaved answers
    expect(page.get_by_role("timer")).to_be_visible()
    assert dialogs == ["beforeunload"] and not page.is_closed()
    page.wait_for_timeout(2500)  # the outage lasts a while; retries keep failing meanwhile
    assert str(planet.id) not in saved_answers(stack, student, attempt_id)
    browser.context.set_offline(False)
    expect(badge).to_have_text(SAVED)
    assert saved_answers(stack, student, attempt_id)[str(planet.id)] == "Jupiter"

    # The tab is closed and opened again: sign in, resume, answers and time come back.
    left_before = seconds_shown(page)
    page.close()
    page = browser.new_page(stack.url + "/")
    sign_in(page, student)
    expect(page.locator(".exam-card")).to_contain_text("In progress")
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_label("Paris")).to_be_checked()
    expect(page.get_by_label("Your answer", exact=True)).to_have_value("Jupiter")
    server_left = stack.api("GET", f"/attempts/{attempt_id}", student).json()
    assert abs(seconds_shown(page) - server_left["time_remaining_seconds"]) <= 2
    assert seconds_shown(page) <= left_before  # the clock kept running while the tab was shut

    badge = page.locator(".save-badge")
    page.get_by_label("Your answer (a number)").fill("0.3")
    expect(badge).to_have_text(SAVED)
    expect(page.locator(".answered")).to_have_text("3 of 3 answered")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "03-exam-saved")
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    browser.screenshot(page, "04-exam-phone")
    page.set_viewport_size(DESKTOP)

    # Time runs out: the page submits by itself and shows the result once graded.
    expect(page.get_by_role("heading", name="Science quiz: result")).to_be_visible(
        timeout=(EXAM_SECONDS + 20) * 1000
    )
    expect(page.locator(".score-card .score")).to_have_text("3.5 / 3.5", timeout=20000)
    expect(page.locator(".result").first).to_contain_text("Paris")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "06-student-result")
    with committed() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.id == attempt_id))
        seqs = session.scalars(select(Answer.seq).where(Answer.attempt_id == attempt_id)).all()
    # The page submitted at zero, long before the server's own timer (deadline + 30 s grace).
    assert attempt.submitted_at - attempt.deadline < (attempt.expires_at - attempt.deadline) / 3
    # Every save carried a seq on the server's clock (ms), so it grows across tabs and devices.
    started_ms = attempt.started_at.timestamp() * 1000
    assert len(seqs) == 3 and all(started_ms - 5000 < seq < started_ms + 60_000 for seq in seqs)


def test_warnings_before_the_end_and_a_guard_against_leaving_with_unsaved_answers(
    stack, browser, committed, settings
):
    with committed() as session:
        essay = make_question(session, "essay")
        make_exam(session, questions=[essay], title="History essay", duration_seconds=600 + 3)
        fact = make_question(session, "true_false")
        make_exam(session, questions=[fact], title="Quick check", duration_seconds=300 + 3)
    stack.start(worker=False)

    page = browser.new_page(stack.url + "/#/register")
    page.get_by_label("Full name").fill("Alan Turing")
    page.get_by_label("Email").fill("alan@school.test")
    page.get_by_label("Password").fill("a-long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="My exams")).to_be_visible()
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus moved to the page

    def start(title: str) -> None:
        card = page.locator(".exam-card").filter(has_text=title)
        card.get_by_role("button", name="Start").click()
        page.get_by_role("dialog").get_by_role("button", name="Start now").click()
        expect(page.get_by_role("timer")).to_be_visible()

    start("History essay")
    warning = page.get_by_role("alert").filter(has_text="minutes left")
    expect(warning).to_have_text("10 minutes left.")
    expect(page.get_by_role("timer")).to_have_class(re.compile(r"\bwarn\b"))

    # Offline with an unsaved answer, the in-app link asks first; "Stay" keeps the page.
    browser.context.set_offline(True)
    page.get_by_label("Your answer").fill("The printing press spread ideas quickly.")
    expect(page.locator(".save-badge")).to_have_text("Offline — retrying")
    page.get_by_role("link", name="My exams").click()
    dialog = page.get_by_role("dialog", name="Leave this page?")
    expect(dialog).to_contain_text("not saved yet")
    dialog.get_by_role("button", name="Stay").click()
    expect(page).to_have_url(re.compile(r"#/attempt/"))
    browser.context.set_offline(False)
    expect(page.locator(".save-badge")).to_have_text(SAVED)
    page.get_by_role("link", name="My exams").click()  # everything saved: no question asked
    expect(page.locator(".exam-card").filter(has_text="History essay")).to_contain_text(
        "In progress"
    )

    start("Quick check")
    expect(warning).to_have_text("5 minutes left.")

    # Offline again, and this time the tab is closed anyway: the answer waits on the device,
    # comes back when the exam is reopened, and reaches the server.
    attempt_id = page.url.rsplit("/", 1)[1]
    browser.context.set_offline(True)
    page.get_by_label("True").check()
    expect(page.locator(".save-badge")).to_have_text("Offline — retrying")
    other_tab = browser.new_page()  # the browser stays open when this tab closes
    page.once("dialog", lambda dialog: dialog.accept())  # "Leave site?" -> Leave
    page.close(run_before_unload=True)
    page.wait_for_event("close")
    other_tab.close()
    browser.context.set_offline(False)
    page = browser.new_page(stack.url + "/")
    sign_in(page, SimpleNamespace(email="alan@school.test"), "a-long-password")
    page.locator(".exam-card").filter(has_text="Quick check").get_by_role(
        "button", name="Resume"
    ).click()
    expect(page.get_by_label("True")).to_be_checked()
    expect(page.locator(".save-badge")).to_have_text(SAVED)
    with committed() as session:
        saved = session.scalars(select(Answer.response).where(Answer.attempt_id == attempt_id))
        assert saved.all() == [True]

    # Submitting asks first; with no worker running here, the page waits in "Grading…".
    page.get_by_role("button", name="Submit exam").first.click()
    confirm = page.get_by_role("dialog", name="Submit your exam?")
    expect(confirm).to_contain_text("You answered 1 of 1 questions.")
    confirm.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Quick check: result")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Grading…")).to_be_visible()
    assert accessibility_problems(page) == []
    browser.screenshot(page, "05-grading")
