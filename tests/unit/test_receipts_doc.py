"""docs/receipts-and-audit.md tells people outside the system how to check a receipt: its
Python and openssl steps, run here as written, accept a genuine receipt and refuse an altered
one, and its digest recipe gives the server's digest."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.trust import receipts

DOC = (Path(__file__).resolve().parents[2] / "docs" / "receipts-and-audit.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def make_receipt(tmp_path: Path) -> tuple[str, Path, dict]:
    key = Ed25519PrivateKey.generate()
    qid = str(uuid.uuid4())
    digest = receipts.answers_digest([qid], {qid: "Zürich"})
    attempt = SimpleNamespace(
        id=uuid.uuid4(), student_id=uuid.uuid4(), status="submitted", answers_sha256=digest,
        submitted_at=datetime(2026, 12, 3, 9, 15, 2, 123456, tzinfo=UTC),
    )  # fmt: skip
    receipt = receipts.receipt(attempt, key)
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    return receipts.public_key_b64(key), path, receipt


def test_the_python_steps_accept_a_genuine_receipt_and_refuse_an_altered_one(tmp_path):
    public, path, receipt = make_receipt(tmp_path)
    script = tmp_path / "check.py"
    script.write_text(next(b for b in blocks("python") if "public_key.verify" in b))
    ok = subprocess.run([sys.executable, script, public, path], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == "genuine", ok.stderr
    path.write_text(json.dumps({**receipt, "submitted_at": "2026-12-03T09:15:03.123456Z"}))
    bad = subprocess.run([sys.executable, script, public, path], capture_output=True, text=True)
    assert bad.returncode != 0 and "InvalidSignature" in bad.stderr


def test_the_digest_recipe_gives_the_servers_digest():
    namespace: dict = {}
    exec(next(b for b in blocks("python") if "def answers_digest" in b), namespace)  # noqa: S102
    q1, q2, q3 = (str(uuid.uuid4()) for _ in range(3))
    responses = {q1: ["b", "a"], q2: 3.0, q3: "Ångström"}
    assert namespace["answers_digest"](responses, [q3, q2, q1, "x"]) == (
        receipts.answers_digest([q1, q2, q3, "x"], responses)
    )


def test_the_openssl_steps_accept_a_genuine_receipt_and_refuse_an_altered_one(tmp_path):
    public, path, receipt = make_receipt(tmp_path)
    steps = next(b for b in blocks("sh") if "openssl pkeyutl" in b)
    steps = re.sub(r"^PUB=.*$", f"PUB='{public}'", steps, count=1, flags=re.M)
    run = subprocess.run(["bash", "-c", steps], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0 and "Signature Verified Successfully" in run.stdout, run.stderr
    path.write_text(json.dumps({**receipt, "answers_sha256": "0" * 64}))
    run = subprocess.run(["bash", "-c", steps], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "Verification Failure" in run.stdout + run.stderr
