"""The ceiling: how many autosaves per second PostgreSQL alone does on this machine.

pgbench runs, per transaction, the one statement an autosave request sends (token check,
attempt row lock, the answer upsert, last-activity update and event insert in one CTE,
`shared.services.fast_save`), on the benchmark's own database and attempts. Our measured
autosave rate divided by this is the share of the database's capacity the Python stack
turns into saves."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import text

from shared.services import fast_save


def script(attempts: int, questions: int) -> str:
    """The autosave's own statement (`fast_save._SAVE`, one answer), its parameters drawn
    by pgbench: a random attempt of the benchmark's and one of its questions, a `seq` newer
    than any before (so every transaction writes), the clock for `now`."""
    aid = "(SELECT attempt_id FROM bench_ids WHERE n = :n)"
    values = {
        ":uid": f"(SELECT student_id FROM attempts WHERE id = {aid})",  # noqa: S608 - constants
        ":aid": aid,
        ":tv": "0",
        ":sid": "'benchmark-session'",
        ":address": "'127.0.0.1'",
        ":now": "now()",
        ":qids": "ARRAY[(SELECT question_id FROM bench_questions WHERE n = :q)]",
        ":responses": "ARRAY['\"pgbench\"']",
        ":seqs": "ARRAY[CAST(extract(epoch FROM clock_timestamp()) * 1000000 AS bigint)]",
        ":event_answers": "'[]'",
    }
    sql = str(fast_save._SAVE)
    # Longest names first: `:aid` inside no other name, but be safe with prefixes.
    for name in sorted(values, key=len, reverse=True):
        sql = re.sub(re.escape(name) + r"\b", lambda _, v=values[name]: v, sql)
    left = set(re.findall(r"(?<!:):[a-z_]+\b", sql)) - {":n", ":q"}  # pgbench's own
    if left:  # a parameter added to the save and not here: pgbench would abort on it
        raise ValueError(f"the autosave statement has parameters pgbench is not given: {left}")
    lines = " ".join(line.strip() for line in sql.strip().splitlines())
    return f"\\set n random(1, {attempts})\n\\set q random(1, {questions})\n{lines};\n"


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
    script_text = script(attempts, questions)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script_file:
        script_file.write(script_text)
    try:
        done = subprocess.run(
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
                script_file.name,
                "exam",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        Path(script_file.name).unlink()
    out = done.stdout
    if done.returncode != 0:  # say why, and let the scenarios' own results stand
        return {"error": f"pgbench exited {done.returncode}: {done.stderr.strip()[-2000:]}"}
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))  # type: ignore[union-attr]
    ours = autosave["load"]["throughput_per_s"]
    return {
        "tps": tps,
        "clients": CLIENTS,
        "seconds": SECONDS,
        "ours": ours,
        "fraction": ours / tps,
    }
