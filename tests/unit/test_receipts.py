"""The pure parts of receipts and the chain: the documented encodings byte for byte, the key
formats RECEIPT_SIGNING_KEY accepts, and the Merkle root's shape."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.trust.audit import merkle_root
from shared.trust.canonical import canonical_json, timestamp
from shared.trust.chain import GENESIS, event_hash
from shared.trust.receipts import answers_digest, load_private_key, public_key_b64

Q1, Q2, Q3 = (
    "0b3f4c1e-0000-4000-8000-000000000001",
    "0b3f4c1e-0000-4000-8000-000000000002",
    "0b3f4c1e-0000-4000-8000-000000000003",
)


def test_the_answers_digest_is_the_documented_bytes():
    responses = {Q2: ["b", "a"], Q1: "Zürich", Q3: None}
    text = f'[["{Q1}","Zürich"],["{Q2}",["b","a"]],["{Q3}",null]]'
    assert answers_digest([Q3, Q2, Q1], responses) == hashlib.sha256(text.encode()).hexdigest()


def test_a_question_never_saved_is_null_and_whole_numbers_lose_their_fraction():
    assert answers_digest([Q1, Q2], {Q1: 3.0}) == answers_digest([Q2, Q1], {Q1: 3, Q2: None})
    assert answers_digest([Q1], {Q1: 2.5}) != answers_digest([Q1], {Q1: 2})
    assert canonical_json({"b": 1e16, "a": [0.5]}) == b'{"a":[0.5],"b":10000000000000000}'


def test_timestamps_are_utc_with_six_fraction_digits():
    paris = timezone(timedelta(hours=1))
    assert (
        timestamp(datetime(2026, 12, 3, 10, 15, 2, tzinfo=paris)) == "2026-12-03T09:15:02.000000Z"
    )
    assert timestamp(datetime(2026, 12, 3, 9, 0, 0, 7, tzinfo=UTC)) == "2026-12-03T09:00:00.000007Z"


def test_an_event_hash_covers_the_previous_hash_and_every_field():
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    body = f'["{Q1}","graded",{{"score":1}},"2026-12-03T09:00:00.000000Z"]'
    expected = hashlib.sha256(GENESIS.encode() + body.encode()).hexdigest()
    assert event_hash(GENESIS, Q1, "graded", {"score": 1}, at) == expected
    assert event_hash("1" * 64, Q1, "graded", {"score": 1}, at) != expected
    assert event_hash(GENESIS, Q1, "graded", {"score": 2}, at) != expected


def test_the_key_is_base64_of_32_bytes_or_a_pem_file(tmp_path):
    raw = bytes(range(32))
    from_b64 = load_private_key(base64.b64encode(raw).decode())
    pem = tmp_path / "receipts.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)], check=True)
    from_pem = load_private_key(str(pem))
    assert isinstance(from_pem, Ed25519PrivateKey)
    assert public_key_b64(from_b64) != public_key_b64(from_pem)
    assert len(base64.b64decode(public_key_b64(from_pem))) == 32
    with pytest.raises(ValueError, match="neither base64 of 32 bytes nor a PEM file"):
        load_private_key("c2hvcnQ=")
    rsa = tmp_path / "rsa.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
         "-out", str(rsa)], check=True, capture_output=True,
    )  # fmt: skip
    with pytest.raises(ValueError, match="not an Ed25519 private key"):
        load_private_key(str(rsa))


def test_the_merkle_root_pairs_sorted_leaves_and_lifts_an_odd_one():
    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    a, b, c = h(b"a|1"), h(b"b|2"), h(b"c|3")
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle_root([("a", "1")]) == a.hex()
    assert merkle_root([("c", "3"), ("a", "1"), ("b", "2")]) == h(h(a + b) + c).hex()
