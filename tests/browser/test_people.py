"""People and rosters in Chromium: an admin imports students from a .csv (a dry run with an
error first), manages accounts and groups, and gives an exam to one group; each student
then sees exactly the exams meant for them. And a forgotten password, reset by email."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from shared.models import Role, User
from tests.browser.conftest import DESKTOP, PHONE, accessibility_problems, fits_the_screen, sign_in
from tests.factories import Account, make_exam, make_user
from tests.support.processes import wait_until

pytestmark = pytest.mark.browser

HEADER = "email,full_name,role,groups,password"
BAD_ROSTER = [
    HEADER,
    "ada@school.test,Ada Lovelace,student,Class 7A,analytical-engine-1",
    "not-an-email,Nobody,student,Class 7B,",
]
ROSTER = [
    HEADER,
    "ada@school.test,Ada Lovelace,student,Class 7A,analytical-engine-1",
    "alan@school.test,Alan Turing,student,Class 7A,",
    "kath@school.test,Katherine Johnson,student,Class 7B,orbital-mechanics-1",
    "dorothy@school.test,Dorothy Vaughan,student,Class 7B; Maths club,",
]


def csv_file(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


def choose_file(page, name: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Spreadsheet (.xlsx or .csv)").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data}
    )


def mail_to(var_dir: Path, address: str) -> list[email.message.EmailMessage]:
    """The .eml files the worker wrote (no SMTP_URL in the tests) for one address."""
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted((var_dir / "mail").glob("*.eml"))
    ]
    return [m for m in messages if m["To"] == address]  # type: ignore[misc]


def imported(committed, address: str) -> Account:  # type: ignore[no-untyped-def]
    with committed() as session:
        user = session.scalar(select(User).where(User.email == address))
    password = next(line.rsplit(",", 1)[1] for line in ROSTER if line.startswith(address))
    return Account(user=user, password=password)


def test_an_import_groups_and_an_audience_decide_who_sees_an_exam(
    stack, browser, committed, settings, tmp_path
):
    with committed() as session:
        admin = make_user(session, settings, role=Role.ADMIN, full_name="Grace Hopper")
        make_exam(session, title="Chemistry quiz", audience="assigned")
        make_exam(session, title="History essay", audience="assigned")  # assigned to nobody
    stack.start()

    page = browser.new_page(stack.url + "/")
    sign_in(page, admin)
    expect(page.get_by_role("heading", name="Exams")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    expect(page.get_by_role("heading", name="People", exact=True)).to_be_visible()
    assert accessibility_problems(page) == []

    # A file with one bad row: the dry run lists it by row and column, nothing is created.
    choose_file(page, "roster-bad.csv", csv_file(BAD_ROSTER))
    page.get_by_role("button", name="Check file (dry run)").click()
    expect(page.get_by_role("alert").filter(has_text="1 problem found")).to_be_visible()
    problems = page.get_by_role("region", name="Problems in the file").locator("tbody tr")
    expect(problems).to_have_count(1)
    assert problems.locator("td").all_inner_texts()[:2] == ["3", "email"]
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported")
    assert len(stack.api("GET", "/users", admin).json()) == 1

    # The good file: checked, then imported; the list shows the new students and groups.
    choose_file(page, "roster.csv", csv_file(ROSTER))
    page.get_by_role("button", name="Check file (dry run)").click()
    summary = page.locator(".import-outcome .counts")
    expect(summary).to_have_text(re.compile(r"4 would be created\s*0 would be updated\s*3 new"))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(summary).to_have_text(re.compile(r"4 created\s*0 updated\s*3 groups created"))
    people = page.get_by_role("region", name="People").locator("tbody tr")
    expect(people).to_have_count(5)
    expect(people.filter(has_text="dorothy@school.test")).to_contain_text("Class 7B, Maths club")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "13-people", full_page=True)
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.set_viewport_size(DESKTOP)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download template").click()
    assert download.value.suggested_filename == "students-template.xlsx"
    with open(download.value.path(), "rb") as saved:
        header = next(openpyxl.load_workbook(saved).active.iter_rows(values_only=True))
    assert {"email", "full_name"} <= {str(cell).lower() for cell in header}

    # Filters, then the row actions: disable (confirmed), rename, send a reset link.
    page.get_by_label("Group").select_option("Class 7B")
    page.get_by_role("button", name="Filter").click()
    expect(people).to_have_count(2)
    page.get_by_role("button", name="Disable Dorothy Vaughan").click()
    page.get_by_role("dialog").get_by_role("button", name="Disable").click()
    expect(people.filter(has_text="dorothy@school.test")).to_contain_text("Disabled")
    expect(page.get_by_role("button", name="Enable Dorothy Vaughan")).to_be_focused()
    page.get_by_label("Name or email").fill("alan")
    page.get_by_label("Group").select_option("Any group")
    page.get_by_role("button", name="Filter").click()
    expect(people).to_have_count(1)
    page.get_by_role("button", name="Edit Alan Turing").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Full name")).to_be_focused()
    dialog.get_by_label("Full name").fill("Alan M. Turing")
    dialog.get_by_role("button", name="Save changes").click()
    expect(people).to_contain_text("Alan M. Turing")
    page.get_by_role("button", name="Send a reset link to Alan M. Turing").click()
    expect(page.get_by_role("status").filter(has_text="on its way")).to_contain_text(
        "alan@school.test"
    )
    wait_until(lambda: len(mail_to(tmp_path, "alan@school.test")) == 2, 30, "set + reset links")

    # Groups: the imported ones with their counts; a new one gets members, loses them, goes.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Groups").click()
    groups = page.get_by_role("region", name="Groups").locator("tbody tr")
    expect(groups).to_have_count(3)
    expect(groups.filter(has_text="Class 7A")).to_contain_text("2")
    assert accessibility_problems(page) == []
    page.get_by_label("Name", exact=True).fill("Chess club")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("heading", name="Chess club")).to_be_visible()
    page.get_by_label("Find students to add").fill("lovelace")
    page.get_by_role("button", name="Search students").click()
    page.get_by_role("button", name="Add Ada Lovelace").click()
    expect(page.locator(".summary")).to_have_text("1 member.")
    expect(page.get_by_role("button", name="Ada Lovelace added")).to_be_disabled()
    page.get_by_role("button", name="Remove Ada Lovelace from the group").click()
    expect(page.locator(".summary")).to_have_text("0 members.")
    page.get_by_role("button", name="Rename").click()
    page.get_by_role("dialog").get_by_label("Name", exact=True).fill("Chess and Go club")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Chess and Go club")).to_be_visible()
    page.get_by_role("button", name="Delete group").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete group").click()
    expect(page.get_by_role("heading", name="Groups")).to_be_visible()
    expect(groups).to_have_count(3)
    page.get_by_role("link", name="Class 7A", exact=True).click()
    members = page.get_by_role("region", name="Members of Class 7A").locator("tbody tr")
    expect(members).to_have_count(2)
    page.get_by_role("button", name="Search students").click()  # empty: the first students
    expect(page.get_by_role("button", name="Add Katherine Johnson")).to_be_visible()
    assert accessibility_problems(page) == []
    browser.screenshot(page, "14-groups", full_page=True)
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.set_viewport_size(DESKTOP)

    # The exam's audience: Class 7A and, for a while, Katherine by name.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Exams").click()
    page.get_by_role("link", name="Chemistry quiz", exact=True).click()
    audience = page.get_by_role("region", name="Audience")
    eligible = audience.locator(".summary")
    expect(eligible).to_have_text("0 students may sit this exam.")
    expect(audience.get_by_label("Assigned students only")).to_be_checked()
    audience.get_by_label("Class 7A").check()
    audience.get_by_label("Find a student to add by name").fill("kath")
    audience.get_by_role("button", name="Search students").click()
    audience.get_by_role("button", name="Add Katherine Johnson").click()
    expect(eligible).to_contain_text("Save to apply your changes.")
    audience.get_by_role("button", name="Save audience").click()
    expect(eligible).to_have_text("3 students may sit this exam.")
    assert accessibility_problems(page) == []
    browser.screenshot(page, "15-audience", element=audience)
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.set_viewport_size(DESKTOP)
    audience.get_by_role("button", name="Remove Katherine Johnson from the audience").click()
    audience.get_by_role("button", name="Save audience").click()
    expect(eligible).to_have_text("2 students may sit this exam.")  # Alan and Ada
    exam_id = page.url.rsplit("/", 1)[1]
    assignees = stack.api("GET", f"/exams/{exam_id}/assignees", admin).json()
    assert assignees["audience"] == "assigned" and assignees["user_ids"] == []
    assert len(assignees["group_ids"]) == 1

    # Ada (Class 7A) sees exactly that exam; Katherine (Class 7B) sees none.
    ada = browser.new_page(stack.url + "/")
    sign_in(ada, imported(committed, "ada@school.test"), "analytical-engine-1")
    expect(ada.get_by_role("heading", name="My exams")).to_be_visible()
    expect(ada.locator(".exam-card h2")).to_have_text(["Chemistry quiz"])
    kath = browser.new_page(stack.url + "/")
    sign_in(kath, imported(committed, "kath@school.test"), "orbital-mechanics-1")
    expect(kath.get_by_text("No exams are assigned to you yet.")).to_be_visible()
    expect(kath.locator(".exam-card")).to_have_count(0)
    assert accessibility_problems(kath) == []


def test_a_forgotten_password_is_reset_with_the_emailed_link(
    stack, browser, committed, settings, tmp_path
):
    with committed() as session:
        ada = make_user(session, settings, full_name="Ada Lovelace", email="ada@school.test")
        gone = make_user(session, settings, full_name="Left School", email="gone@school.test")
        session.get(User, gone.user.id).active = False
        session.commit()
    stack.start(SELF_REGISTRATION="closed")

    page = browser.new_page(stack.url + "/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_focused()
    assert accessibility_problems(page) == []
    page.get_by_label("Email").fill("nobody@school.test")  # the same answer for no account
    page.get_by_role("button", name="Email me a link").click()
    sent = page.get_by_role("status").filter(has_text="If an account exists for that address")
    expect(sent).to_be_visible()
    page.get_by_label("Email").fill("ada@school.test")
    page.get_by_role("button", name="Email me a link").click()
    expect(sent).to_be_visible()
    (message,) = wait_until(lambda: mail_to(tmp_path, "ada@school.test"), 30, "the reset email")
    link = re.search(r"#/password/reset\?token=[\w-]+", message.get_content()).group(0)  # type: ignore[union-attr]
    assert not mail_to(tmp_path, "nobody@school.test")

    page.goto(stack.url + "/" + link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert accessibility_problems(page) == []
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.set_viewport_size(DESKTOP)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_label("New password", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("New password", exact=True).fill("a brand new passphrase")
    page.get_by_label("Repeat the new password").fill("a brand new passphrase!")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_text("The two passwords are different.")).to_be_visible()
    page.get_by_label("Repeat the new password").fill("a brand new passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Your password has been changed.")).to_be_visible()
    sign_in(page, ada, "a brand new passphrase")
    expect(page.get_by_role("heading", name="My exams")).to_be_visible()

    # The link works once.
    again = browser.new_page(stack.url + "/" + link)
    again.get_by_label("New password", exact=True).fill("yet another passphrase")
    again.get_by_label("Repeat the new password").fill("yet another passphrase")
    again.get_by_role("button", name="Set new password").click()
    expect(again.get_by_role("alert")).to_contain_text("expired or has been used already")
    expect(again.get_by_role("link", name="Ask for a new link")).to_be_visible()
    assert accessibility_problems(again) == []

    # A disabled account, and registration the school has closed: each says why.
    again.goto(stack.url + "/#/login")
    sign_in(again, gone)
    expect(again.get_by_role("alert")).to_contain_text("This account is disabled")
    again.get_by_role("link", name="Create an account").click()
    again.get_by_label("Full name").fill("New Student")
    again.get_by_label("Email").fill("new@school.test")
    again.get_by_label("Password").fill("a long enough password")
    again.get_by_role("button", name="Create account").click()
    expect(again.get_by_role("alert")).to_contain_text("Accounts here are made by the school")
    assert accessibility_problems(again) == []
