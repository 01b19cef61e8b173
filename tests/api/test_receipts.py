"""Submission receipts through the API: issued after every kind of submission, signed with
the published Ed25519 key (checked here with `cryptography`, as anyone would), and refused
by the verifier once a field, the signature or the stored answers change."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import text

from shared.models import utcnow
from shared.services import expiry
from shared.trust.canonical import canonical_json, sha256_hex
from tests.factories import login, make_exam, make_question, make_user

A = "/api/v1/attempts"
E = "/api/v1/exams"


@pytest.fixture
def headers(client, student):
    return login(client, student)


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


@pytest.fixture
def exam(session):
    return make_exam(session, questions=[make_question(session, "short_text"),
                                         make_question(session)])  # fmt: skip


def start_and_save(client, headers, exam, response="Paris"):
    attempt = client.post(f"{E}/{exam.id}/attempts", headers=headers).get_json()
    short = next(q for q in attempt["questions"] if q["type"] == "short_text")
    saved = client.put(
        f"{A}/{attempt['id']}/answers",
        json={"answers": [{"question_id": short["id"], "response": response, "seq": 1}]},
        headers=headers,
    )
    assert saved.status_code == 200, saved.get_json()
    return attempt, short["id"]


def public_key(client) -> Ed25519PublicKey:
    body = client.get("/api/v1/receipts/public-key").get_json()
    assert body["algorithm"] == "Ed25519"
    raw = base64.b64decode(body["public_key"])
    assert len(raw) == 32
    return Ed25519PublicKey.from_public_bytes(raw)


def check_signature(client, receipt) -> None:
    message = f"{receipt['attempt_id']}|{receipt['submitted_at']}|{receipt['answers_sha256']}"
    public_key(client).verify(base64.b64decode(receipt["signature"]), message.encode())


def expected_digest(attempt, answers: dict) -> str:
    """The documented encoding, computed independently of the server's code path."""
    qids = sorted(q["id"] for q in attempt["questions"])
    return sha256_hex(canonical_json([[q, answers.get(q)] for q in qids]))


def verify(client, receipt):
    response = client.post("/api/v1/receipts/verify", json=receipt)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class TestIssued:
    def test_a_student_submission_gets_a_receipt_anyone_can_check(self, client, headers, exam):
        attempt, qid = start_and_save(client, headers, exam, "Zürich ✓")
        before = client.get(f"{A}/{attempt['id']}/receipt", headers=headers)
        assert before.status_code == 409 and before.get_json()["error"] == "conflict"
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        receipt = client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()
        assert set(receipt) >= {"attempt_id", "student_id", "submitted_at", "answers_sha256",
                                "signature"}  # fmt: skip
        assert receipt["attempt_id"] == attempt["id"]
        assert receipt["answers_sha256"] == expected_digest(attempt, {qid: "Zürich ✓"})
        submitted = client.get(f"{A}/{attempt['id']}", headers=headers).get_json()
        assert datetime.fromisoformat(receipt["submitted_at"].replace("Z", "+00:00")) == (
            datetime.fromisoformat(submitted["submitted_at"].replace("Z", "+00:00"))
        )
        check_signature(client, receipt)
        assert verify(client, receipt) == {
            "valid": True, "reason": None, "fields": [],
            "detail": "the receipt is genuine and matches the stored answers",
        }  # fmt: skip

    def test_an_admin_force_submit_gets_one_and_the_admin_can_read_it(
        self, client, headers, admin_headers, exam
    ):
        attempt, qid = start_and_save(client, headers, exam)
        forced = client.post(f"{A}/{attempt['id']}/force-submit", headers=admin_headers)
        assert forced.status_code == 202, forced.get_json()
        mine = client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()
        theirs = client.get(f"{A}/{attempt['id']}/receipt", headers=admin_headers).get_json()
        assert mine == theirs
        assert mine["answers_sha256"] == expected_digest(attempt, {qid: "Paris"})
        check_signature(client, mine)

    def test_a_timeout_via_the_expiry_sweep_gets_one(self, client, headers, session, exam):
        attempt, qid = start_and_save(client, headers, exam)
        later = utcnow() + timedelta(hours=3)
        assert [str(i) for i in expiry.sweep(session, later)] == [attempt["id"]]
        session.commit()
        receipt = client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()
        assert receipt["answers_sha256"] == expected_digest(attempt, {qid: "Paris"})
        assert receipt["submitted_at"] == later.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        check_signature(client, receipt)
        assert verify(client, receipt)["valid"]

    def test_a_lazy_timeout_gets_one_too(self, client, headers, session):
        exam = make_exam(session, duration_seconds=1, grace_seconds=0)
        attempt = client.post(f"{E}/{exam.id}/attempts", headers=headers).get_json()
        time.sleep(1.2)
        receipt = client.get(f"{A}/{attempt['id']}/receipt", headers=headers)
        assert receipt.status_code == 200, receipt.get_json()
        assert receipt.get_json()["answers_sha256"] == expected_digest(attempt, {})

    def test_another_students_attempt_is_404(self, client, headers, session, settings, exam):
        attempt, _ = start_and_save(client, headers, exam)
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        intruder = login(client, make_user(session, settings))
        response = client.get(f"{A}/{attempt['id']}/receipt", headers=intruder)
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"


class TestRefused:
    @pytest.fixture
    def receipt(self, client, headers, exam):
        attempt, _ = start_and_save(client, headers, exam)
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        return client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()

    def test_a_forged_signature(self, client, receipt):
        forged = base64.b64encode(bytes(64)).decode()
        verdict = verify(client, {**receipt, "signature": forged})
        assert (verdict["valid"], verdict["reason"]) == (False, "bad_signature")

    def test_an_altered_submission_time(self, client, receipt):
        verdict = verify(client, {**receipt, "submitted_at": "2026-01-01T00:00:00.000000Z"})
        assert (verdict["valid"], verdict["reason"]) == (False, "altered_field")
        assert verdict["fields"] == ["submitted_at"]

    def test_an_altered_digest(self, client, receipt):
        verdict = verify(client, {**receipt, "answers_sha256": "0" * 64})
        assert (verdict["reason"], verdict["fields"]) == ("altered_field", ["answers_sha256"])

    def test_answers_edited_in_the_database_behind_the_api(self, client, session, receipt):
        session.execute(
            text("UPDATE answers SET response = '\"Lyon\"' WHERE attempt_id = :a"),
            {"a": receipt["attempt_id"]},
        )
        verdict = verify(client, receipt)
        assert (verdict["valid"], verdict["reason"]) == (False, "answers_changed")
        assert "Lyon" not in str(verdict) and "Paris" not in str(verdict)  # nothing leaked

    def test_another_students_id_on_the_receipt(self, client, receipt):
        verdict = verify(client, {**receipt, "student_id": receipt["attempt_id"]})
        assert (verdict["reason"], verdict["fields"]) == ("altered_field", ["student_id"])

    def test_a_receipt_from_before_a_reopening_is_superseded(
        self, client, headers, admin_headers, receipt
    ):
        url = f"{A}/{receipt['attempt_id']}"
        reopened = client.post(f"{url}/reopen", json={"extra_seconds": 600, "reason": "power cut"},
                               headers=admin_headers)  # fmt: skip
        assert reopened.status_code == 200, reopened.get_json()
        assert client.get(f"{url}/receipt", headers=headers).status_code == 409
        assert verify(client, receipt)["reason"] == "superseded"
        client.post(f"{url}/submit", json={}, headers=headers)
        newer = client.get(f"{url}/receipt", headers=headers).get_json()
        assert newer["submitted_at"] != receipt["submitted_at"]
        assert verify(client, newer)["valid"] and verify(client, receipt)["reason"] == "superseded"

    def test_a_body_that_is_not_a_receipt_is_422(self, client, receipt):
        response = client.post("/api/v1/receipts/verify", json={"attempt_id": "x"})
        assert response.status_code == 422
        assert response.get_json()["error"] == "validation_error"
        extra = client.post("/api/v1/receipts/verify", json={**receipt, "answers": {}})
        assert extra.status_code == 422


class TestCli:
    """`flask --app web verify-receipt FILE`: a verdict, a reason, an exit code."""

    @pytest.fixture
    def run(self, app, db, tmp_path):
        app.extensions["exam.session_factory"] = db

        def run(receipt, *extra):
            path = tmp_path / "receipt.json"
            path.write_text(json.dumps(receipt))
            return app.test_cli_runner().invoke(args=["verify-receipt", str(path), *extra])

        return run

    @pytest.fixture
    def receipt(self, client, headers, exam):
        attempt, _ = start_and_save(client, headers, exam)
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        return client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()

    def test_a_genuine_receipt_is_valid(self, run, receipt):
        result = run(receipt)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("VALID")

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"signature": base64.b64encode(b"x" * 64).decode()}, "bad_signature"),
            ({"submitted_at": "2025-05-05T05:05:05.000000Z"}, "altered_field"),
            ({"answers_sha256": "f" * 64}, "altered_field"),
            ({"attempt_id": "00000000-0000-4000-8000-000000000000"}, "bad_signature"),
            ({"signature": 5}, "malformed"),
        ],
    )
    def test_a_changed_receipt_fails_with_its_reason(self, run, receipt, change, reason):
        result = run({**receipt, **change})
        assert result.exit_code != 0
        assert f"NOT VALID ({reason})" in result.output

    def test_answers_edited_behind_the_api_fail(self, run, receipt, session):
        session.execute(
            text("UPDATE answers SET response = '\"Rome\"' WHERE attempt_id = :a"),
            {"a": receipt["attempt_id"]},
        )
        result = run(receipt)
        assert result.exit_code != 0
        assert "NOT VALID (answers_changed)" in result.output

    def test_a_receipt_of_an_attempt_this_system_never_had(self, run, receipt, session):
        session.execute(text("DELETE FROM attempts WHERE id = :a"), {"a": receipt["attempt_id"]})
        result = run(receipt)
        assert "NOT VALID (unknown_attempt)" in result.output and result.exit_code != 0

    def test_another_key_is_a_bad_signature_and_a_bad_key_a_clear_error(self, run, receipt):
        other = Ed25519PrivateKey.generate().public_key()
        raw = other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        result = run(receipt, "--public-key", base64.b64encode(raw).decode())
        assert "NOT VALID (bad_signature)" in result.output
        result = run(receipt, "--public-key", "nope")
        assert result.exit_code != 0 and "base64 of 32 bytes" in result.output


class TestRotation:
    def test_receipts_of_an_earlier_key_still_verify_where_it_is_listed(
        self, client, headers, exam, settings, db
    ):
        from pydantic import SecretStr

        from web import create_app

        attempt, _ = start_and_save(client, headers, exam)
        client.post(f"{A}/{attempt['id']}/submit", json={}, headers=headers)
        old = client.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()
        old_key = client.get("/api/v1/receipts/public-key").get_json()

        def rotated(previous: str):  # a new signing key, as after a rotation
            new_key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
            app = create_app(settings.model_copy(update={
                "RECEIPT_SIGNING_KEY": SecretStr(new_key),
                "RECEIPT_PREVIOUS_PUBLIC_KEYS": previous,
            }))  # fmt: skip
            app.extensions["exam.session_factory"] = db
            return app.test_client()

        forgotten = rotated("")
        assert verify(forgotten, old)["reason"] == "bad_signature"
        listed = rotated(old_key["public_key"])
        keys = listed.get("/api/v1/receipts/public-key").get_json()
        assert keys["key_id"] != old["key_id"]
        assert keys["previous"] == [{"key_id": old["key_id"], "public_key": old_key["public_key"]}]
        assert verify(listed, old)["valid"]
        newer = listed.get(f"{A}/{attempt['id']}/receipt", headers=headers).get_json()
        assert newer["key_id"] == keys["key_id"] and verify(listed, newer)["valid"]


def test_one_address_checking_receipts_without_end_is_slowed(settings, db, session, exam):
    """The check is open to anyone and recomputes a digest: an address is limited, others not."""
    from web import create_app

    app = create_app(settings.model_copy(update={"RECEIPT_VERIFY_PER_ADDRESS": "3 per hour"}))
    app.extensions["exam.session_factory"] = db
    client = app.test_client()
    student = make_user(session, settings)
    attempt, _ = start_and_save(client, login(client, student), exam)
    client.post(f"{A}/{attempt['id']}/submit", json={}, headers=login(client, student))
    receipt = client.get(f"{A}/{attempt['id']}/receipt", headers=login(client, student)).get_json()
    prober = {"REMOTE_ADDR": "203.0.113.9"}
    checks = [
        client.post("/api/v1/receipts/verify", json=receipt, environ_base=prober) for _ in range(4)
    ]
    assert [c.status_code for c in checks] == [200, 200, 200, 429]
    assert checks[-1].get_json()["error"] == "rate_limited"
    other = client.post(
        "/api/v1/receipts/verify", json=receipt, environ_base={"REMOTE_ADDR": "198.51.100.4"}
    )
    assert other.status_code == 200 and other.get_json()["valid"] is True
