"""A/B evidence for the optimisations: each lever measured the old way and the way the code
does it now, in one process against a private PostgreSQL and Redis, interleaved so that
whatever else the machine does falls on both alike.

    make bench-ab                   # or: .venv/bin/python -m bench.ab --repeat 300

Per variant: the median wall time and the mean CPU time of one operation (in this process;
the database's own CPU is not in the CPU column, it is in the wall column). Results:
bench/results/ab/results.json and results.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, update
from sqlalchemy.orm import Session

from bench import ab_checkout, ab_driver, ab_lane, ab_serving, ab_trust
from bench.data import Data
from bench.run import RESULTS, machine
from bench.stack import TOPOLOGIES, Stack
from shared.cache import RedisCache, TwoLevelCache, create_cache
from shared.models import Attempt, Exam, Job, RevokedSession, utcnow
from shared.people import sessions as token_sessions
from shared.services import (
    attempt_views,
    batch_grading,
    grading,
    notifications,
    questions,
    regrades,
)
from shared.services import attempts as attempt_service
from shared.services.exam_payload import exam_payload


class NoCache:
    """Before: the payload was built from the database at every start."""

    def get(self, key: str) -> None:
        return None

    def set(self, key: str, value: Any, ttl: int) -> None:
        return None


Operation = Callable[[Session], Any]


@contextmanager
def rolled_back(engine: Any) -> Iterator[Session]:
    """Every write is rolled back, so each repetition sees the same data."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def measure(
    variants: dict[str, Operation],
    engines: dict[str, Engine],
    default: Engine,
    repeat: int,
    clock: Callable[[], float] = time.thread_time,
) -> dict[str, dict[str, float]]:
    """Run the variants in turn `repeat` times (after a warm-up); per-operation figures.
    A variant runs on `engines[name]` if given, else on `default`. CPU is this thread's,
    or the process's (`clock=time.process_time`) for a lever whose work runs on threads."""
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(repeat + 20):
        for name, operation in variants.items():
            with rolled_back(engines.get(name, default)) as session:
                session.connection()  # the pool checkout is the same for all: not timed
                started, started_cpu = time.perf_counter(), clock()
                operation(session)
                session.flush()
                elapsed = time.perf_counter() - started
                elapsed_cpu = clock() - started_cpu
            if i >= 20:
                wall[name].append(elapsed * 1000)
                cpu[name].append(elapsed_cpu * 1000)
    return {
        name: {
            "median_ms": round(statistics.median(wall[name]), 3),
            "p90_ms": round(statistics.quantiles(wall[name], n=10)[-1], 3),
            "cpu_ms": round(statistics.fmean(cpu[name]), 3),
        }
        for name in variants
    }


def levers(stack: Stack, data: Data, plain: Engine) -> list[dict[str, Any]]:
    """Each lever: where it matters, and its variants (name -> operation), the old way
    first; `engines` names a variant that runs on another engine than the stack's."""
    settings = stack.settings
    assert settings is not None and settings.cache_url
    exam_id, exam_questions = data.exam(question_count=20)
    student = data.users(1)
    attempt_id = data.attempts(exam_id, student, exam_questions, answered=True)[0]
    redis_only = RedisCache(settings.cache_url, prefix=f"{settings.REDIS_KEY_PREFIX}ab:")
    two_level = create_cache(settings)
    assert isinstance(two_level, TwoLevelCache)
    now = utcnow()

    def payload(cache: Any) -> Operation:
        return lambda session: exam_payload(session, cache, session.get(Exam, exam_id))

    def answer_rows(count: int) -> list[dict[str, Any]]:
        return [
            {
                "attempt_id": attempt_id,
                "question_id": uuid.UUID(q["id"]),
                "question_id_str": q["id"],
                "response": "B" if q["type"] == "single_choice" else None,
                "seq": 10**9,
                "saved_at": now,
            }
            for q in exam_questions[:count]
        ]

    one, twenty = answer_rows(1), answer_rows(20)

    def upsert_rebuilt(session: Session) -> Any:
        attempt_service._UPSERTS.clear()  # as before: the statement built at every save
        return attempt_service._upsert(session, one)

    def row_by_row(session: Session) -> Any:
        return [attempt_service._upsert(session, [row]) for row in twenty]

    def status_entities(session: Session) -> Any:
        """Before: the attempt and its exam loaded as ORM objects."""
        query = select(Attempt, Exam).join(Exam, Exam.id == Attempt.exam_id)
        query = query.where(Attempt.id == attempt_id, Attempt.student_id == student[0])
        attempt, exam = session.execute(query).one()
        return attempt_views.status_view(attempt, exam, now, is_admin=False)

    def status_columns(session: Session) -> Any:
        row = attempt_views.status_row(session, attempt_id, user_id=student[0], is_admin=False)
        return attempt_views.status_view(row, row, now, is_admin=False)

    def revoked_orm(session: Session) -> Any:
        """Before: an ORM select of the revoked session."""
        return session.scalar(select(RevokedSession.sid).where(RevokedSession.sid == "x"))

    def grade(session: Session) -> Any:
        attempt = session.get(Attempt, attempt_id)
        keys = grading.current_keys(session, exam_id)
        return grading.apply_grades(session, attempt, keys, now + timedelta(seconds=1))

    batch = submitted(data, exam_id, exam_questions, batch_grading.BATCH_SIZE)
    later = now + timedelta(seconds=1)

    def one_by_one(session: Session) -> Any:
        """Before: a task per attempt, each claiming, grading and notifying its own."""
        for attempt_id in batch:
            graded = grading.grade_submitted(session, attempt_id, later)
            notifications.on_graded(session, graded, later)

    def in_one_batch(session: Session) -> Any:
        graded = batch_grading.grade_waiting(session, batch[0], later)
        return notifications.on_graded_many(session, graded.graded, later)

    job_id, chunk = regrade_chunk(data, exam_id, exam_questions, batch)
    driver_levers = ab_driver.levers(
        settings.database_url, attempt_id=attempt_id, student_id=student[0], one_answer=one
    )

    def regrade_one_by_one(session: Session) -> Any:
        """Before: each attempt in its own savepoint, through the ORM."""
        job = session.get(Job, job_id)
        return regrades._run_one_by_one(session, job, session.get(Exam, exam_id), chunk, later)

    return [
        {
            "lever": f"regrade chunk of {len(chunk)} attempts written in bulk",
            "where": "a regrade: every attempt of the exam, with its job item and notification",
            "variants": {
                "one attempt at a time (savepoint, ORM)": regrade_one_by_one,
                "the chunk in bulk, now": lambda session: regrades.run_chunk(
                    session, job_id, chunk, later
                ),
            },
        },
        {
            "lever": f"regrade chunk of {len(chunk)}: its chained events (issue 19)",
            "where": "a regrade: every attempt's regraded event",
            "variants": {
                "no chain": ab_trust.without_chain(
                    lambda session: regrades.run_chunk(session, job_id, chunk, later)
                ),
                "chained, now": lambda session: regrades.run_chunk(session, job_id, chunk, later),
            },
        },
        {
            "lever": f"grading batch of {len(batch)}: its chained events (issue 19)",
            "where": "the deadline: every graded attempt's event",
            "variants": {
                "no chain": ab_trust.without_chain(in_one_batch),
                "chained, now": in_one_batch,
            },
        },
        {
            "lever": f"grading {len(batch)} submitted attempts in one batch",
            "where": "the deadline: every submitted attempt, with its notification",
            "variants": {
                "one at a time (claim, ORM, notify)": one_by_one,
                "one batch: bulk claim, reads and writes, now": in_one_batch,
            },
        },
        {
            "lever": "exam payload cached per exam version",
            "where": "every start and every autosave (validates against the payload)",
            "variants": {
                "built every time": payload(NoCache()),
                "Redis only": payload(redis_only),
                "two-level (process + Redis), now": payload(two_level),
            },
        },
        {
            "lever": "answer upsert statement built once",
            "where": "every autosave (one answer)",
            "variants": {
                "built per save": upsert_rebuilt,
                "prebuilt, now": lambda session: attempt_service._upsert(session, one),
            },
        },
        {
            "lever": "one multi-row upsert per batch",
            "where": "a final batch of 20 answers at submit",
            "variants": {
                "one statement per answer": row_by_row,
                "one statement per batch, now": lambda session: attempt_service._upsert(
                    session, twenty
                ),
            },
        },
        {
            "lever": "token check (user exists, family not revoked) as a prebuilt Core statement",
            "where": "every authenticated request",
            "variants": {
                "ORM select": revoked_orm,
                "Core select, now": lambda session: token_sessions.is_valid(
                    session, "x", uuid.uuid4()
                ),
            },
        },
        {
            "lever": "status read as columns, not ORM objects",
            "where": "every status poll (the most frequent request)",
            "variants": {
                "attempt and exam as ORM objects": status_entities,
                "one row of the columns it needs, now": status_columns,
            },
        },
        {
            "lever": "answer keys cached per exam version in the worker",
            "where": "every grading task",
            "variants": {
                "read every time": lambda session: grading.exam_keys(session, exam_id),
                "cached, now": lambda session: grading.current_keys(session, exam_id),
            },
        },
        {
            "lever": "batched executemany for grade writes",
            "where": "every grading task (20 answer rows updated)",
            "variants": {"psycopg2 default executemany": grade, "values_plus_batch, now": grade},
            "engines": {"psycopg2 default executemany": plain},
        },
        *ab_trust.levers(data),
        *ab_serving.levers(),
        *driver_levers,
        *ab_checkout.levers(attempt_id),
        *ab_lane.levers(data),
    ]


def submitted(data: Data, exam_id: Any, exam_questions: Any, count: int) -> list[Any]:
    """`count` answered attempts, submitted and waiting for grading."""
    ids = data.attempts(exam_id, data.users(count), exam_questions, answered=True)
    with data.session() as session:
        session.execute(
            update(Attempt)
            .where(Attempt.id.in_(ids))
            .values(status="submitted", submitted_at=utcnow(), grade_requested_at=utcnow())
        )
        session.commit()
    return ids


def regrade_chunk(data: Data, exam_id: Any, exam_questions: Any, waiting: list[Any]) -> Any:
    """A running regrade of 100 graded attempts of the exam, with a changed key (the
    attempts `waiting` for grading stay submitted)."""
    ids = data.attempts(exam_id, data.users(100), exam_questions, answered=True)
    admin = data.users(1, role="admin")[0]
    with data.session() as session:
        now = utcnow()
        session.execute(
            update(Attempt).where(Attempt.id.in_(ids)).values(status="submitted", submitted_at=now)
        )
        claimed = batch_grading.claim(session, None, now, 1000)
        batch_grading.grade_claimed(session, [r for r in claimed if r.id in set(ids)], now)
        session.execute(update(Attempt).where(Attempt.id.in_(waiting)).values(status="submitted"))
        question = exam_questions[0]["id"]
        questions.update_question(session, uuid.UUID(question), {"correct_answer": "A"})
        job = regrades.create_regrade(session, exam_id, dry_run=False, admin_id=admin)
        regrades.start(session, job.id, utcnow())
        session.commit()
        return job.id, ids


def run(repeat: int, only: str = "") -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="exam-ab-"))
    stack = Stack(root, TOPOLOGIES["single"])
    results: dict[str, Any] = {"machine": machine(), "repeat": repeat, "levers": []}
    try:
        stack.start_services()
        assert stack.settings is not None
        data = Data(stack)
        # SQLAlchemy's default for psycopg2: INSERTs batched, UPDATEs one round trip per row.
        plain = create_engine(stack.settings.database_url, executemany_mode="values_only")
        for lever in levers(stack, data, plain):
            if only.lower() not in lever["lever"].lower():
                continue
            print(f"{lever['lever']} ...", flush=True)
            engines = lever.pop("engines", {})
            clock = lever.pop("clock", time.thread_time)
            lever["figures"] = measure(lever.pop("variants"), engines, stack.engine, repeat, clock)
            for name, figures in lever["figures"].items():
                print(f"    {name}: {figures}")
            results["levers"].append(lever)
        plain.dispose()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Optimisations, A/B",
        "",
        f"Machine: {results['machine']}; {results['repeat']} interleaved repetitions per variant.",
        "",
        "| lever | where | variant | median ms | p90 ms | CPU ms |",
        "|---|---|---|---:|---:|---:|",
    ]
    for lever in results["levers"]:
        for name, f in lever["figures"].items():
            lines.append(
                f"| {lever['lever']} | {lever['where']} | {name} | {f['median_ms']} "
                f"| {f['p90_ms']} | {f['cpu_ms']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--only", default="", help="run the levers whose name contains this")
    args = parser.parse_args(argv)
    results = run(args.repeat, args.only)
    out = RESULTS / "ab"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
