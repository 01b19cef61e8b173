"""Import and export of GIFT, Moodle XML and QTI 2.1 through the routes: the fixtures as
Moodle and the IMS examples write them, all or nothing, hostile files, round trips."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from shared.models import Question
from tests.factories import QUESTION_PAYLOADS, login, make_question
from tests.unit.format_cases import fixture

URL = "/api/v1/questions"
SUPPORTED = [
    ("moodle_supported.gift", "bank.gift", "gift", 10),
    ("moodle_supported.xml", "quiz.xml", "moodle_xml", 7),
    ("qti_supported", "package.zip", "qti", 6),
]
UNSUPPORTED = [
    ("moodle_unsupported.gift", "bank.gift", ["matching", "description"]),
    ("moodle_unsupported.xml", "quiz.xml", ["matching", "cloze", "ddwtos", "calculated"]),
    ("qti_unsupported", "package.zip", ["matchInteraction", "orderInteraction"]),
]


def upload(client, headers, data: bytes, filename: str, **query):
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename=filename)})
    stream, _, boundary = stream_encode_multipart(fields, use_tempfile=False)
    return client.post(
        f"{URL}/import",
        query_string=query,
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
    @pytest.mark.parametrize(("name", "filename", "format", "created"), SUPPORTED)
    def test_each_fixture_imports_every_question(
        self, client, headers, session, name, filename, format, created
    ):
        response = upload(client, headers, fixture(name), filename)
        body = response.get_json()
        assert response.status_code == 200, body
        assert body["format"] == format and body["created"] == created
        assert len(body["question_ids"]) == created and body["errors"] == []
        assert count(session) == created
        listed = client.get(f"{URL}?page_size=50", headers=headers).get_json()
        assert {q["id"] for q in listed} == set(body["question_ids"])

    def test_an_imported_moodle_question_reads_as_in_moodle(self, client, headers):
        upload(client, headers, fixture("moodle_supported.xml"), "quiz.xml")
        listed = client.get(f"{URL}?q=capital", headers=headers).get_json()
        assert len(listed) == 1
        capital = listed[0]
        assert capital["prompt"] == "What is the capital of France?"
        assert capital["points"] == 2 and capital["correct_answer"] == "B"
        assert capital["tags"] == ["capitals", "Europe"]
        assert capital["explanation"] == "Paris has been the capital since 987."

    @pytest.mark.parametrize(("name", "filename", "format", "created"), SUPPORTED)
    def test_a_dry_run_reports_and_creates_nothing(
        self, client, headers, session, name, filename, format, created
    ):
        response = upload(client, headers, fixture(name), filename, dry_run="true")
        body = response.get_json()
        assert response.status_code == 200 and body["dry_run"] is True
        assert body["created"] == created and body["question_ids"] == []
        assert count(session) == 0

    def test_warnings_name_the_item_and_what_was_lost(self, client, headers):
        body = upload(client, headers, fixture("moodle_supported.xml"), "quiz.xml").get_json()
        assert {
            "row": 3,
            "column": "Weighted rivers",
            "message": "unequal answer weights cannot be held: imported as all or nothing",
        } in body["warnings"]
        assert any("map.png" in w["message"] for w in body["warnings"])

    def test_the_format_parameter_wins_over_the_file_name(self, client, headers, session):
        response = upload(client, headers, fixture("moodle_supported.gift"), "x.dat", format="gift")
        assert response.status_code == 200 and response.get_json()["created"] == 10
        bad = upload(client, headers, b"{T}", "x.gift", format="csv")
        assert bad.status_code == 422

    def test_no_script_reaches_a_prompt(self, client, headers):
        upload(client, headers, fixture("moodle_supported.gift"), "bank.gift")
        upload(client, headers, fixture("moodle_supported.xml"), "quiz.xml")
        listed = client.get(f"{URL}?page_size=50", headers=headers).get_json()
        texts = [q["prompt"] for q in listed] + [
            o["text"] for q in listed for o in q["options"] or []
        ]
        assert len(texts) > 20
        assert not [t for t in texts if "script" in t or "onerror" in t or "alert" in t]


class TestAllOrNothing:
    @pytest.mark.parametrize(("name", "filename", "named"), UNSUPPORTED)
    def test_an_item_we_cannot_hold_fails_the_whole_file(
        self, client, headers, session, name, filename, named
    ):
        response = upload(client, headers, fixture(name), filename)
        body = response.get_json()
        assert response.status_code == 422 and body["error"] == "validation_error"
        assert body["created"] == 0 and body["question_ids"] == []
        messages = " ".join(e["message"] for e in body["errors"])
        for kind in named:
            assert kind in messages
        assert all(e["row"] for e in body["errors"])
        assert count(session) == 0

    def test_unbalanced_gift_braces_name_the_line(self, client, headers, session):
        response = upload(client, headers, fixture("unbalanced.gift"), "bank.gift")
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"row": 3, "column": "Q2", "message": "unbalanced braces { } in the question at line 3"}
        ]
        assert count(session) == 0


class TestHostileFiles:
    @pytest.mark.parametrize(
        ("name", "filename", "status", "message"),
        [
            ("billion_laughs.xml", "quiz.xml", 422, "DTD or entities"),
            ("external_entity.xml", "quiz.xml", 422, "DTD or entities"),
            ("malformed.xml", "quiz.xml", 422, "not well-formed XML"),
            ("zip_bomb.zip", "package.zip", 413, "expands to more than"),
            ("zip_ratio_bomb.zip", "package.zip", 413, "zip bomb"),
            ("path_traversal.zip", "package.zip", 422, "unsafe path"),
            ("absolute_path.zip", "package.zip", 422, "unsafe path"),
            ("manifest_traversal.zip", "package.zip", 422, "outside the package"),
            ("qti_external_entity.zip", "package.zip", 422, "DTD or entities"),
        ],
    )
    def test_hostile_files_are_refused_and_nothing_is_created(
        self, client, headers, session, name, filename, status, message
    ):
        response = upload(client, headers, fixture(name), filename)
        body = response.get_json()
        assert response.status_code == status, body
        assert body["error"] == ("payload_too_large" if status == 413 else "validation_error")
        assert message in body["message"]
        assert count(session) == 0

    @pytest.mark.parametrize(
        ("data", "filename"),
        [
            (fixture("moodle_supported.gift"), "quiz.xml"),  # text where XML is expected
            (fixture("moodle_supported.xml"), "package.zip"),  # XML where a zip is expected
            (fixture("qti_supported"), "bank.gift"),  # a zip where text is expected
            (b"<html><body>hello</body></html>", "quiz.xml"),
        ],
    )
    def test_the_wrong_format_for_the_content_is_a_clean_4xx(
        self, client, headers, session, data, filename
    ):
        response = upload(client, headers, data, filename)
        assert response.status_code in (415, 422), response.get_json()
        assert response.get_json()["error"] in ("unsupported_media_type", "validation_error")
        assert count(session) == 0

    @pytest.mark.parametrize("filename", ["bank.xlsx", "package.zip"])
    def test_a_zip_of_an_unknown_version_is_415(self, client, headers, session, filename):
        if filename.endswith(".xlsx"):
            data = client.get(f"{URL}/import/template", headers=headers).data
        else:
            data = fixture("qti_supported")
        corrupt = bytearray(data)
        directory = corrupt.find(b"PK\x01\x02")
        corrupt[directory + 6] = 99  # "version needed to extract" 9.9: zipfile refuses it
        response = upload(client, headers, bytes(corrupt), filename)
        assert response.status_code == 415, response.get_json()
        assert count(session) == 0

    def test_a_50_mb_file_is_413(self, client, headers, session):
        response = upload(client, headers, b"x" * (50 * 1024 * 1024), "bank.gift")
        assert response.status_code == 413
        assert response.get_json()["error"] == "payload_too_large"
        assert count(session) == 0


class TestExport:
    @pytest.fixture
    def bank(self, session):
        for kind in QUESTION_PAYLOADS:
            make_question(session, kind)
        make_question(session, "short_text", prompt="Symbol of sodium?", case_sensitive=True)

    @pytest.mark.parametrize(
        ("format", "mimetype", "filename"),
        [
            ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
            ("gift", "text/plain", "gift"),
            ("moodle_xml", "application/xml", "xml"),
            ("qti", "application/zip", "zip"),
        ],
    )
    def test_export_then_import_gives_back_the_bank(
        self, client, headers, session, bank, format, mimetype, filename
    ):
        before = _bank(client, headers)
        exported = client.get(f"{URL}/export", query_string={"format": format}, headers=headers)
        assert exported.status_code == 200 and exported.mimetype == mimetype
        disposition = exported.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="questions.{filename}"'
        session.query(Question).delete()
        session.commit()
        response = upload(client, headers, exported.data, f"questions.{filename}")
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["warnings"] == []
        assert _bank(client, headers) == before

    @pytest.mark.parametrize("format", ["gift", "moodle_xml", "qti"])
    def test_the_tag_filter_picks_what_is_exported(self, client, headers, session, bank, format):
        exported = client.get(
            f"{URL}/export", query_string={"format": format, "tag": "maths"}, headers=headers
        )
        session.query(Question).delete()
        session.commit()
        body = upload(client, headers, exported.data, "x", format=format).get_json()
        assert body["created"] == 2
        prompts = {q["prompt"] for q in client.get(URL, headers=headers).get_json()}
        assert prompts == {"Which are prime?", "0.1 + 0.2 = ?"}

    def test_a_qti_export_is_a_package_with_a_manifest(self, client, headers, bank):
        exported = client.get(f"{URL}/export?format=qti", headers=headers)
        names = zipfile.ZipFile(io.BytesIO(exported.data)).namelist()
        assert "imsmanifest.xml" in names and len(names) == 1 + len(QUESTION_PAYLOADS) + 1

    def test_an_unknown_format_is_422(self, client, headers):
        response = client.get(f"{URL}/export?format=csv", headers=headers)
        assert response.status_code == 422

    def test_the_xlsx_export_and_template_routes_still_work(self, client, headers, bank):
        assert client.get(f"{URL}/export.xlsx", headers=headers).status_code == 200
        assert client.get(f"{URL}/import/template", headers=headers).status_code == 200

    def test_students_cannot_export_or_import(self, client, student):
        student_headers = login(client, student)
        assert client.get(f"{URL}/export?format=gift", headers=student_headers).status_code == 403
        response = upload(client, student_headers, fixture("moodle_supported.gift"), "bank.gift")
        assert response.status_code == 403


def _bank(client, headers) -> list[dict]:
    """The bank's content without ids and timestamps, options compared by position."""
    questions = client.get(f"{URL}?page_size=100", headers=headers).get_json()
    content = []
    for q in questions:
        q = {k: v for k, v in q.items() if k not in ("id", "created_at", "updated_at", "version")}
        if q["options"]:
            letters = {o["id"]: chr(65 + i) for i, o in enumerate(q["options"])}
            q["options"] = [{"id": letters[o["id"]], "text": o["text"]} for o in q["options"]]
            key = q["correct_answer"]
            q["correct_answer"] = (
                [letters[k] for k in key] if isinstance(key, list) else letters[key]
            )
        content.append(q)
    return sorted(content, key=lambda q: (q["type"], q["prompt"]))
