"""Spreadsheet import, export and template, with workbooks built in the test."""

from __future__ import annotations

import io
import secrets
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from shared.config import load_settings
from shared.models import Question
from shared.spreadsheets.questions import COLUMNS
from tests.factories import QUESTION_PAYLOADS, login, make_question

URL = "/api/v1/questions"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

GOOD_ROWS = [
    # Any column order, any header case, a header with spaces.
    ["Prompt", "TYPE", "Correct Answer", "option_a", "option_b", "option_c", "points", "tags",
     "scoring", "tolerance", "case_sensitive", "explanation"],
    ["Capital of France?", "single_choice", "b", "Lyon", "Paris", None, 2, "geo, europe",
     None, None, None, "Since 987"],
    ["Primes?", "multiple_choice", "A,C", "2", "4", "7", None, None, "partial", None, None, None],
    [None] * 12,  # blank rows are skipped
    ["Water is wet", "true_false", True, None, None, None, None, None, None, None, None, None],
    ["Largest planet?", "short_text", "Jupiter|planet Jupiter", None, None, None, None, None,
     None, None, "FALSE", None],
    ["22/7 to 2 places?", "numeric", 3.14, None, None, None, 1.5, None, None, "0.01", None, None],
    ["Explain photosynthesis.", "essay", None, None, None, None, 5, None, None, None, None, None],
]  # fmt: skip


def workbook(rows, title="Questions") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client, headers, data: bytes, *, dry_run=False, filename="questions.xlsx"):
    query = "?dry_run=true" if dry_run else ""
    # Encoded in memory: the test client would spool a large body to a temporary file that
    # nothing closes (a ResourceWarning at some later test).
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename=filename)})
    stream, length, boundary = stream_encode_multipart(fields, use_tempfile=False)
    return client.post(
        f"{URL}/import{query}",
        data=stream.read(),
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Question))


@pytest.fixture
def headers(client, admin):
    return login(client, admin)


class TestImport:
    def test_a_good_sheet_creates_every_question(self, client, headers, session):
        response = upload(client, headers, workbook(GOOD_ROWS))
        body = response.get_json()
        assert response.status_code == 200, body
        assert body["created"] == 6 and body["errors"] == [] and len(body["question_ids"]) == 6
        listed = {
            q["prompt"]: q for q in client.get(f"{URL}?page_size=50", headers=headers).get_json()
        }
        capital = listed["Capital of France?"]
        assert capital["correct_answer"] == "B" and capital["points"] == 2
        assert capital["tags"] == ["geo", "europe"] and capital["explanation"] == "Since 987"
        assert [o["text"] for o in capital["options"]] == ["Lyon", "Paris"]
        assert (
            listed["Primes?"]["correct_answer"] == ["A", "C"]
            and listed["Primes?"]["scoring"] == "partial"
        )
        assert listed["Water is wet"]["correct_answer"] is True
        assert listed["Largest planet?"]["correct_answer"] == ["Jupiter", "planet Jupiter"]
        assert listed["22/7 to 2 places?"]["correct_answer"] == 3.14
        assert listed["22/7 to 2 places?"]["tolerance"] == 0.01
        assert listed["Explain photosynthesis."]["correct_answer"] is None

    def test_one_bad_row_creates_nothing_and_every_bad_cell_is_reported(
        self, client, headers, session
    ):
        rows = [
            GOOD_ROWS[0],
            GOOD_ROWS[1],
            ["No type given", None, "A", "x", "y", None, None, None, None, None, None, None],
            GOOD_ROWS[2],
            ["Key not an option", "single_choice", "D", "x", "y", *[None] * 7],
            [None] * 12,
            ["Bad number", "numeric", "about ten", None, None, None, "many", None, None, "-1",
             None, None],
            ["Gap", "single_choice", "A", "x", None, "z", None, None, None, None, None, None],
        ]  # fmt: skip
        response = upload(client, headers, workbook(rows))
        body = response.get_json()
        assert response.status_code == 422
        assert body["error"] == "validation_error" and body["created"] == 0
        cells = {(e["row"], e["column"]) for e in body["errors"]}
        assert cells == {
            (3, "type"), (5, "correct_answer"), (7, "correct_answer"), (7, "points"),
            (8, "option_b"),
        }, body["errors"]  # fmt: skip
        assert count(session) == 0

    def test_a_negative_tolerance_is_reported_in_its_column(self, client, headers):
        rows = [["type", "prompt", "correct_answer", "tolerance"], ["numeric", "x?", 1, -0.5]]
        body = upload(client, headers, workbook(rows)).get_json()
        assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "tolerance")]

    def test_dry_run_validates_without_writing(self, client, headers, session):
        body = upload(client, headers, workbook(GOOD_ROWS), dry_run=True).get_json()
        assert body == {
            "created": 6,
            "question_ids": [],
            "dry_run": True,
            "errors": [],
            "format": "xlsx",
            "warnings": [],
        }
        assert count(session) == 0
        bad = upload(client, headers, workbook([GOOD_ROWS[0], ["x"] * 12]), dry_run=True)
        assert bad.status_code == 422 and bad.get_json()["errors"]

    def test_header_problems_are_reported_on_the_header_row(self, client, headers):
        rows = [["type", "promt", "correct_answer", "type"], ["single_choice", "x", "A", None]]
        body = upload(client, headers, workbook(rows)).get_json()
        assert {(e["row"], e["column"], e["message"]) for e in body["errors"]} == {
            (1, "promt", "unknown column"),
            (1, "type", "column appears twice"),
            (1, "prompt", "required column is missing"),
        }

    def test_an_empty_sheet_is_a_422(self, client, headers):
        assert upload(client, headers, workbook([])).status_code == 422
        assert upload(client, headers, workbook([["type", "prompt"]])).status_code == 422

    def test_five_thousand_rows_in_one_request(self, client, headers, session):
        rows = [["type", "prompt", "option_a", "option_b", "correct_answer", "tags"]]
        rows += [["single_choice", f"Question {n}", "yes", "no", "A", "bulk"] for n in range(5000)]
        response = upload(client, headers, workbook(rows))
        assert response.status_code == 200 and response.get_json()["created"] == 5000
        assert count(session) == 5000


class TestHostileFiles:
    def test_a_file_that_is_not_a_workbook_is_415(self, client, headers):
        response = upload(client, headers, b"type,prompt\nessay,hi\n", filename="q.csv")
        assert (
            response.status_code == 415 and response.get_json()["error"] == "unsupported_media_type"
        )

    def test_a_zip_that_is_not_a_workbook_is_415(self, client, headers):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("readme.txt", "hello")
        assert upload(client, headers, buffer.getvalue()).status_code == 415

    def test_a_corrupt_workbook_is_422(self, client, headers):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("xl/workbook.xml", "<not-a-workbook")
        response = upload(client, headers, buffer.getvalue())
        assert response.status_code == 422 and response.get_json()["error"] == "validation_error"

    def test_a_missing_file_field_is_422(self, client, headers):
        response = client.post(
            f"{URL}/import", data={}, content_type="multipart/form-data", headers=headers
        )
        assert response.status_code == 422

    @pytest.fixture
    def small_limits_client(self, db, admin):
        from web import create_app

        app = create_app(
            load_settings(
                IMPORT_MAX_BYTES=64 * 1024,
                IMPORT_MAX_UNCOMPRESSED_BYTES=1024 * 1024,
                IMPORT_MAX_ROWS=50,
            )
        )
        app.extensions["exam.session_factory"] = db
        client = app.test_client()
        return client, login(client, admin)

    def test_an_oversized_file_is_413(self, small_limits_client):
        client, headers = small_limits_client
        rows = [["type", "prompt"]] + [["essay", secrets.token_hex(1500)] for _ in range(45)]
        data = workbook(rows)
        assert len(data) > 64 * 1024
        response = upload(client, headers, data)
        assert response.status_code == 413 and response.get_json()["error"] == "payload_too_large"
        assert "larger than" in response.get_json()["message"]

    def test_a_zip_bomb_is_refused_before_parsing(self, small_limits_client):
        client, headers = small_limits_client
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("xl/workbook.xml", "<workbook/>")
            archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
        assert len(buffer.getvalue()) < 64 * 1024  # small on the wire
        response = upload(client, headers, buffer.getvalue())
        assert response.status_code == 413
        assert "expands" in response.get_json()["message"]

    def test_too_many_rows_is_413(self, small_limits_client):
        client, headers = small_limits_client
        rows = [["type", "prompt", "correct_answer"]] + [
            ["true_false", f"q{n}", True] for n in range(51)
        ]
        response = upload(client, headers, workbook(rows))
        assert response.status_code == 413 and "more than 50 rows" in response.get_json()["message"]

    def test_a_100000_row_sheet_is_refused(self, client, headers, session):
        """With the default limits: the sheet is read as a stream and refused at row 10,001
        (memory and time: bench/hostile_imports.py, docs/reliability.md)."""
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Questions")
        sheet.append(["type", "prompt", "correct_answer"])
        for n in range(100_000):
            sheet.append(["true_false", f"q{n}", True])
        buffer = io.BytesIO()
        book.save(buffer)
        response = upload(client, headers, buffer.getvalue())
        assert response.status_code == 413
        assert "more than 10000 rows" in response.get_json()["message"]
        assert count(session) == 0

    def test_xml_entity_expansion_is_refused(self, client, headers, session):
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(
                f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
                for i in range(1, 10)
            )
            + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
            "</sheetData></worksheet>"
        )
        original = zipfile.ZipFile(io.BytesIO(workbook([["type", "prompt"], ["essay", "x"]])))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for item in original.infolist():
                data = bomb if item.filename == "xl/worksheets/sheet1.xml" else original.read(item)
                archive.writestr(item, data)
        response = upload(client, headers, buffer.getvalue())
        assert response.status_code == 422
        assert count(session) == 0


class TestTemplateAndExport:
    def test_the_template_has_the_header_an_example_per_type_and_help(self, client, headers):
        response = client.get(f"{URL}/import/template", headers=headers)
        assert response.status_code == 200 and response.mimetype == XLSX
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        assert book.sheetnames == ["Questions", "Columns"]
        rows = list(book["Questions"].iter_rows(values_only=True))
        assert list(rows[0]) == list(COLUMNS)
        assert sorted(row[0] for row in rows[1:]) == sorted(QUESTION_PAYLOADS)
        help_rows = [row[0] for row in book["Columns"].iter_rows(values_only=True) if row[0]]
        assert "correct_answer" in help_rows and "tolerance" in help_rows

    def test_the_template_imports_cleanly(self, client, headers):
        template = client.get(f"{URL}/import/template", headers=headers).data
        response = upload(client, headers, template)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["created"] == 6

    def test_export_reimports_into_the_same_bank(self, client, headers, session):
        for kind in QUESTION_PAYLOADS:
            make_question(session, kind)
        make_question(session, "short_text", prompt='=HYPERLINK("http://evil")', tags=["+risky"])
        make_question(
            session, "single_choice", prompt="-5 degrees: hot or cold?", explanation="@cold"
        )
        make_question(session, "true_false", explanation="\t=1+1")
        make_question(session, "numeric", explanation="\r+cmd|' /C calc'!A0")
        custom_ids = [{"id": "x1", "text": "a"}, {"id": "y2", "text": "b"}]
        make_question(session, "multiple_choice", options=custom_ids, correct_answer=["y2"])
        before = _bank(client, headers)
        exported = client.get(f"{URL}/export.xlsx", headers=headers)
        assert exported.status_code == 200 and exported.mimetype == XLSX
        book = openpyxl.load_workbook(io.BytesIO(exported.data))
        cells = [cell for row in book.active.iter_rows() for cell in row if cell.value is not None]
        assert all(cell.data_type != "f" for cell in cells)  # no formulas, ever
        texts = [c.value for c in cells if isinstance(c.value, str)]
        assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)
        assert '\'=HYPERLINK("http://evil")' in texts

        session.query(Question).delete()  # re-import into an empty bank
        session.commit()
        assert upload(client, headers, exported.data).status_code == 200
        assert _bank(client, headers) == before


def _bank(client, headers) -> list[dict]:
    """The bank's content, without ids and timestamps, in a stable order. Option ids are
    compared by position: the sheet names options by column (A, B, ...)."""
    questions = client.get(f"{URL}?page_size=100", headers=headers).get_json()
    content = []
    for q in questions:
        q = {k: v for k, v in q.items() if k not in ("id", "created_at", "updated_at", "version")}
        if q["options"]:
            letters = {o["id"]: chr(65 + i) for i, o in enumerate(q["options"])}
            q["options"] = [
                {"id": chr(65 + i), "text": o["text"]} for i, o in enumerate(q["options"])
            ]
            key = q["correct_answer"]
            q["correct_answer"] = (
                [letters[k] for k in key] if isinstance(key, list) else letters[key]
            )
        content.append(q)
    return sorted(content, key=lambda q: (q["type"], q["prompt"]))
