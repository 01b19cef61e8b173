"""Bulk import of students from .csv and .xlsx, as schools' systems export them."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from shared.config import load_settings
from shared.models import Notification, User
from shared.people.models import Group, GroupMember
from tests.factories import login, make_user

URL = "/api/v1/users/import"


@pytest.fixture
def headers(client, admin):
    return login(client, admin)


def upload(client, headers, data: bytes, filename: str, *, dry_run=False):
    query = "?dry_run=true" if dry_run else ""
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename=filename)})
    stream, _, boundary = stream_encode_multipart(fields, use_tempfile=False)
    return client.post(
        URL + query,
        data=stream.read(),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def csv_bytes(lines: list[str], *, bom=True, delimiter=";") -> bytes:
    """Lines written with commas, saved with `delimiter` as a spreadsheet would (quoting a
    field that holds the delimiter)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for line in lines:
        writer.writerow(next(csv.reader([line])) if line else [])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode()


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def users(session) -> int:
    return session.scalar(select(func.count()).select_from(User))


GOOD = [
    "Email,Full Name,Groups,ROLE",
    "ada@school.test,Ada Lovelace,Class 7A; Maths set 1,student",
    "alan@school.test,Alan Turing,Class 7A,",
    "grace@school.test,Grace Hopper,,student",
]


class TestCsv:
    @pytest.mark.parametrize(("bom", "delimiter"), [(True, ";"), (False, ","), (True, "\t")])
    def test_a_school_export_creates_students_and_groups(
        self, client, session, headers, bom, delimiter
    ):
        response = upload(client, headers, csv_bytes(GOOD, bom=bom, delimiter=delimiter), "a.csv")
        body = response.get_json()
        assert response.status_code == 200, body
        assert (body["created"], body["updated"], body["groups_created"]) == (3, 0, 2)
        seven_a = session.scalar(select(Group).where(Group.name == "Class 7A"))
        members = session.scalar(select(func.count()).where(GroupMember.group_id == seven_a.id))
        assert members == 2
        ada = session.scalar(select(User).where(User.email == "ada@school.test"))
        assert ada.full_name == "Ada Lovelace" and ada.role == "student"

    def test_a_dry_run_reports_and_changes_nothing(self, client, session, headers):
        before = users(session)
        response = upload(client, headers, csv_bytes(GOOD), "a.csv", dry_run=True)
        body = response.get_json()
        assert response.status_code == 200 and body["dry_run"] is True
        assert (body["created"], body["groups_created"]) == (3, 2)
        assert users(session) == before
        assert session.scalar(select(func.count()).select_from(Group)) == 0

    def test_existing_accounts_are_updated_not_duplicated(self, client, session, settings, headers):
        make_user(session, settings, email="ada@school.test", full_name="A. Lovelace")
        before = users(session)
        body = upload(client, headers, csv_bytes(GOOD), "a.csv").get_json()
        assert (body["created"], body["updated"]) == (2, 1)
        assert users(session) == before + 2
        ada = session.scalar(select(User).where(User.email == "ada@school.test"))
        assert ada.full_name == "Ada Lovelace"
        again = upload(client, headers, csv_bytes(GOOD), "a.csv").get_json()
        assert (again["created"], again["updated"], again["groups_created"]) == (0, 3, 0)

    def test_students_without_a_password_are_owed_a_set_password_email(
        self, client, session, headers
    ):
        lines = [
            "email,full_name,password",
            "ada@school.test,Ada,",
            "alan@school.test,Alan,enigma-machine-1",
        ]
        assert upload(client, headers, csv_bytes(lines), "a.csv").status_code == 200
        links = session.scalars(select(Notification).where(Notification.kind == "password_link"))
        assert [n.data["purpose"] for n in links] == ["set"]
        # Alan signs in with the file's password at once; it is rehashed at full cost then.
        alan = session.scalar(select(User).where(User.email == "alan@school.test"))
        bulk_hash = alan.password_hash
        response = client.post(
            "/api/v1/auth/login", json={"email": "alan@school.test", "password": "enigma-machine-1"}
        )
        assert response.status_code == 200
        session.refresh(alan)
        assert alan.password_hash != bulk_hash and "m=2048" in bulk_hash
        # Ada can't sign in until she has chosen a password.
        ada = {"email": "ada@school.test", "password": "!"}
        assert client.post("/api/v1/auth/login", json=ada).status_code in (401, 422)


class TestBadFiles:
    def _errors(self, client, headers, lines, filename="a.csv"):
        response = upload(client, headers, csv_bytes(lines), filename)
        assert response.status_code == 422, response.get_json()
        body = response.get_json()
        assert body["created"] == 0 and body["error"] == "validation_error"
        return {(e["row"], e["column"]) for e in body["errors"]}, body

    def test_every_row_error_is_reported_and_nothing_is_created(self, client, session, headers):
        before = users(session)
        lines = [
            "email,full_name,role,groups",
            "ada@school.test,Ada,student,Class 7A",
            "ADA@SCHOOL.TEST,Ada again,,",  # the same address in another case
            "ａｄａ@school.test,Ada wide,,",  # full-width look-alike
            "bob@school.test,Bob,teacher,",  # no such role
            "not-an-email,Nobody,,",
            "carol@school.test,,,",  # no name
            'dan@school.test,=HYPERLINK("http://x"),,',  # a formula
            f"eve@school.test,Eve,,{'x' * 10_000}",  # a group name of 10,000 characters
        ]
        errors, _ = self._errors(client, headers, lines)
        assert errors == {
            (3, "email"), (4, "email"), (5, "role"), (6, "email"), (7, "full_name"),
            (8, "full_name"), (9, "groups"),
        }  # fmt: skip
        assert users(session) == before
        assert session.scalar(select(func.count()).select_from(Group)) == 0

    def test_a_missing_column_or_an_empty_file(self, client, headers):
        errors, _ = self._errors(client, headers, ["email,name_of_pet", "a@school.test,Rex"])
        assert errors == {(1, "name_of_pet"), (1, "full_name")}
        errors, body = self._errors(client, headers, [""])
        assert body["errors"][0]["message"].startswith("the file is empty")

    def test_a_file_that_is_not_a_spreadsheet_is_a_415(self, client, headers):
        latin1 = "email,full_name\nåsa@school.test,Åsa\n".encode("latin-1")
        for data, name in ((b"\x89PNG\r\n\x1a\n" + bytes(100), "photo.xlsx"),
                           (b"\x00\x01binary", "roster.csv"), (latin1, "a.csv")):  # fmt: skip
            response = upload(client, headers, data, name)
            assert response.status_code == 415, (name, response.get_json())

    def test_too_many_rows_are_refused_with_the_limit(self, settings, db, admin):
        from web import create_app

        app = create_app(load_settings(IMPORT_MAX_ROWS="100"))
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        lines = ["email,full_name"] + [f"s{n}@school.test,S {n}" for n in range(100_000)]
        response = upload(client, login(client, admin), csv_bytes(lines), "big.csv")
        assert response.status_code == 413 and "100 rows" in response.get_json()["message"]

    def test_an_xlsx_roster_with_a_formula_cell(self, client, session, headers):
        rows = [["email", "full_name"], ["ada@school.test", "Ada"], ["bob@school.test", "=1+1"]]
        response = upload(client, headers, xlsx_bytes(rows), "roster.xlsx")
        assert response.status_code == 422
        assert [(e["row"], e["column"]) for e in response.get_json()["errors"]] == [
            (3, "full_name")
        ]

    def test_an_xlsx_roster_imports_like_a_csv(self, client, session, headers):
        rows = [["E-mail", "Name", "Groups"], ["ada@school.test", "Ada", "Class 7A"]]
        response = upload(client, headers, xlsx_bytes(rows), "roster.xlsx")
        assert response.status_code == 200 and response.get_json()["created"] == 1


def test_the_template_imports_as_it_is(client, headers):
    template = client.get(f"{URL}/template", headers=headers)
    assert template.status_code == 200
    response = upload(client, headers, template.data, "students-template.xlsx", dry_run=True)
    assert response.status_code == 200 and response.get_json()["created"] == 2


def test_students_cannot_import(client, student):
    response = upload(client, login(client, student), csv_bytes(GOOD), "a.csv")
    assert response.status_code == 403


def test_the_cli_imports_a_roster_with_a_progress_bar(app, client, session, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(GOOD))
    runner = app.test_cli_runner()
    checked = runner.invoke(args=["import-users", str(roster), "--dry-run"])
    assert checked.exit_code == 0, checked.output
    assert "would create 3" in checked.output
    assert session.scalar(select(func.count()).where(User.email == "ada@school.test")) == 0
    done = runner.invoke(args=["import-users", str(roster)])
    assert done.exit_code == 0, done.output
    assert "Writing accounts" in done.output and "created 3" in done.output
    assert session.scalar(select(func.count()).where(User.email == "ada@school.test")) == 1


def test_the_cli_lists_row_errors_and_imports_nothing(app, client, session, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes(["email,full_name", "ada@school.test,Ada", "nope,Nobody"]))
    result = app.test_cli_runner().invoke(args=["import-users", str(roster)])
    assert result.exit_code != 0
    assert "row 3, email: not an email address" in result.output
    assert session.scalar(select(func.count()).where(User.email == "ada@school.test")) == 0
