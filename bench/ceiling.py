"""The ceiling: how many autosaves per second PostgreSQL alone does on this machine.

pgbench runs, per transaction, the statements one autosave request sends (revocation check,
attempt row lock, exam read, the answer upsert, last-activity update, event insert), on the
benchmark's own database and attempts. Our measured autosave rate divided by this is the
share of the database's capacity the Python stack turns into saves."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import text

SCRIPT = """
\\set n random(1, {attempts})
\\set q random(1, {questions})
BEGIN;
SELECT sid FROM revoked_sessions WHERE sid = 'benchmark-session';
SELECT a.* FROM attempts a JOIN bench_ids b ON b.attempt_id = a.id WHERE b.n = :n FOR UPDATE OF a;
SELECT * FROM exams WHERE id = '{exam_id}';
INSERT INTO answers (attempt_id, question_id, response, seq, saved_at, needs_manual)
  SELECT b.attempt_id, bq.question_id, '"pgbench"'::jsonb, :n + 1000000, now(), false
  FROM bench_ids b, bench_questions bq WHERE b.n = :n AND bq.n = :q
  ON CONFLICT (attempt_id, question_id) DO UPDATE
  SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at
  WHERE answers.seq IS NULL OR excluded.seq IS NULL OR excluded.seq > answers.seq
  RETURNING question_id;
UPDATE attempts SET last_activity_at = now()
  WHERE id = (SELECT attempt_id FROM bench_ids WHERE n = :n);
INSERT INTO attempt_events (attempt_id, kind, data, created_at)
  SELECT attempt_id, 'saved', '{{"answers": []}}'::jsonb, now() FROM bench_ids WHERE n = :n
  RETURNING id;
COMMIT;
"""

CLIENTS = 16
SECONDS = 20


def measure(stack: Any, autosave: dict[str, Any]) -> dict[str, Any]:
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        return {"error": "pgbench not installed"}
    exam_id = autosave["exam_id"]
    with stack.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_ids, bench_questions"))
        conn.execute(
            text(
                "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, "
                "id AS attempt_id FROM attempts WHERE exam_id = :e"
            ),
            {"e": exam_id},
        )
        conn.execute(text("ALTER TABLE bench_ids ADD PRIMARY KEY (n)"))
        conn.execute(
            text(
                "CREATE TABLE bench_questions AS SELECT position AS n, question_id "
                "FROM exam_questions WHERE exam_id = :e"
            ),
            {"e": exam_id},
        )
        attempts = conn.scalar(text("SELECT count(*) FROM bench_ids"))
        questions = conn.scalar(text("SELECT count(*) FROM bench_questions"))
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(SCRIPT.format(attempts=attempts, questions=questions, exam_id=exam_id))
    try:
        out = subprocess.run(
            [
                pgbench,
                "-h",
                "127.0.0.1",
                "-p",
                str(stack.pg.port),
                "-U",
                "postgres",
                "-n",
                "-M",
                "simple",
                "-c",
                str(CLIENTS),
                "-j",
                "2",
                "-T",
                str(SECONDS),
                "-f",
                script.name,
                "exam",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))  # type: ignore[union-attr]
    ours = autosave["load"]["throughput_per_s"]
    return {
        "tps": tps,
        "clients": CLIENTS,
        "seconds": SECONDS,
        "ours": ours,
        "fraction": ours / tps,
    }
