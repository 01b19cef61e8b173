"""Bulk import of 5,000 students: target under 10 s (issue: rosters and people).

    .venv/bin/python -m bench.user_import [--students 5000]

Runs the real route (multipart upload, parsing, validation, writes, commit, one email task
per new student sent to Redis) through the Flask app against a PostgreSQL database made
for the run, and beside it the machine's ceiling for the same rows: one bulk INSERT of the
5,000 users with nothing else. Prints target, measured and met; writes
bench/results/user_import.json.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import secrets
import time
import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import insert
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import stream_encode_multipart

from bench.scratch import scratch_environment

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0
ADMIN_PASSWORD = secrets.token_urlsafe(16)


def roster(count: int, *, passwords: bool, tag: str) -> bytes:
    """A school's export: `;`-separated, UTF-8 with a BOM, 50 classes, two groups each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Email", "Full Name", "Groups", "Password"])
    for n in range(count):
        groups = f"Class {n % 50}; Year {n % 5 + 7}"
        password = f"initial-{secrets.token_hex(6)}" if passwords else ""
        writer.writerow([f"s{n}.{tag}@school.example", f"Student {n}", groups, password])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()


def upload(client, headers, data: bytes) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    fields = MultiDict({"file": FileStorage(io.BytesIO(data), filename="roster.csv")})
    stream, _, boundary = stream_encode_multipart(fields, use_tempfile=False)
    body = stream.read()
    began = time.perf_counter()
    response = client.post(
        "/api/v1/users/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )
    elapsed = time.perf_counter() - began
    assert response.status_code == 200, response.get_json()
    return elapsed, response.get_json()


def ceiling(engine, count: int) -> float:  # type: ignore[no-untyped-def]
    """The same number of users in one bulk INSERT, nothing else: what the database allows."""
    from shared.models import User

    rows = [
        {"id": uuid.uuid4(), "email": f"c{n}@ceiling.example", "full_name": f"C {n}",
         "role": "student", "password_hash": "!"}
        for n in range(count)
    ]  # fmt: skip
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(User), rows)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=5000)
    args = parser.parse_args()
    with scratch_environment("import", IMPORT_MAX_ROWS=str(max(10_000, args.students))) as url:
        results = run(url, args.students)
    report(results)


def run(url: str, count: int) -> list[dict]:
    from shared.config import get_settings
    from shared.db import create_sqlalchemy_engine
    from shared.people.accounts import create_user
    from tests.conftest import alembic_config
    from web import create_app

    get_settings.cache_clear()
    settings = get_settings()
    command.upgrade(alembic_config(settings.database_url), "head")
    app = create_app(settings)
    engine = create_sqlalchemy_engine(settings.database_url, settings)
    with app.app_context():
        from web.extensions import db_session

        create_user(db_session(), settings, email="bench-admin@school.example",
                    password=ADMIN_PASSWORD, full_name="Admin", role="admin")  # fmt: skip
        db_session().commit()
    client = app.test_client()
    tokens = client.post(
        "/api/v1/auth/login",
        json={"email": "bench-admin@school.example", "password": ADMIN_PASSWORD},
    ).get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    results = []
    for label, data in (
        (
            "new students, no passwords (set-password emails)",
            roster(count, passwords=False, tag="a"),
        ),
        ("new students with passwords (bulk hashing)", roster(count, passwords=True, tag="b")),
        ("the first file again (every account updated)", roster(count, passwords=False, tag="a")),
    ):
        seconds, body = upload(client, headers, data)
        results.append({"scenario": label, "students": count, "seconds": seconds,
                        "created": body["created"], "updated": body["updated"]})  # fmt: skip
    results.append({"scenario": "ceiling: one bulk INSERT of the users, nothing else",
                    "students": count, "seconds": ceiling(engine, count)})  # fmt: skip
    engine.dispose()
    return results


def report(results: list[dict]) -> None:
    floor = results[-1]["seconds"]
    print(f"{'scenario':56} {'students':>8} {'target':>8} {'measured':>9} {'x ceiling':>9} met")
    for row in results:
        ceiling_row = row["scenario"].startswith("ceiling")
        target = "" if ceiling_row else f"< {TARGET_SECONDS:.0f} s"
        met = "" if ceiling_row else ("yes" if row["seconds"] < TARGET_SECONDS else "NO")
        ratio = row["seconds"] / floor if floor else 0
        print(f"{row['scenario']:56} {row['students']:>8} {target:>8} "
              f"{row['seconds']:>8.2f}s {ratio:>8.1f}x {met}")  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "user_import.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
