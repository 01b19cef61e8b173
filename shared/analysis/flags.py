"""Review flags of an exam, computed on request from the attempts, their answers and their
trail: attempts a teacher may want to look at. Never a penalty, never stored.

Kinds (thresholds below; docs/item-analysis-and-flags.md explains them to teachers):
- concurrent_devices: saves from two login sessions (or client addresses) alternating;
- fast_high_score: a high score in a small fraction of the exam's median time;
- similar_answers: improbably many identical wrong answers to another attempt's
  (`shared.analysis.copying`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.analysis import copying, rows
from shared.analysis import statistics as st
from shared.analysis.flag import Flag
from shared.cache import Cache
from shared.models import Attempt, AttemptEvent, AttemptStatus, User
from shared.services import exams

CONCURRENT_WINDOW = timedelta(minutes=2)  # saves this close together count as "at once"
FAST_FRACTION = 0.25  # of the median time of the exam's submitted attempts
HIGH_SCORE = 0.80  # of the attempt's max score
FAST_MIN_SUBMITTED = 5  # fewer submitted attempts: no meaningful median, no flag
ROSTER_CACHE_SECONDS = 300  # the key changes with the data; this only bounds memory
ROSTER_STALE_SECONDS = 30  # how old the roster's flags may be while attempts keep changing
KIND_ORDER = ("concurrent_devices", "fast_high_score", "similar_answers")


def exam_flags(session: Session, exam_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every flag of the exam, by kind, the most striking first, with the student's name."""
    exams.get_exam(session, exam_id)  # NotFound for an unknown exam
    found = _all_flags(session, exam_id)
    students = dict(
        session.execute(
            select(Attempt.id, User.full_name)
            .join(User, User.id == Attempt.student_id)
            .where(Attempt.exam_id == exam_id)
        ).all()
    )
    found.sort(key=lambda f: (KIND_ORDER.index(f.kind), -f.score, str(f.attempt_id)))
    return [
        {
            "attempt_id": f.attempt_id,
            "student_name": students.get(f.attempt_id, ""),
            "kind": f.kind,
            "detail": f.detail,
            "score": f.score,
            "related_attempt_id": f.related_attempt_id,
        }
        for f in found
    ]


def kinds_by_attempt(
    session: Session, exam_id: uuid.UUID, cache: Cache, now: datetime
) -> dict[str, list[str]]:
    """{attempt id: its flag kinds} for the roster, at most ROSTER_STALE_SECONDS old.

    One grouped query finds the version of the exam's attempts (count, revisions, last
    activity): while it stands still, a roster page costs that query alone. While attempts
    change (an exam running), the flags computed in the last ROSTER_STALE_SECONDS serve,
    so a roster refreshing every few seconds computes them at most that often."""
    count, revisions, activity = session.execute(
        select(func.count(), func.sum(Attempt.revision), func.max(Attempt.last_activity_at))
        .where(Attempt.exam_id == exam_id)
    ).one()  # fmt: skip
    if not count:
        return {}
    version = f"flags:{exam_id}:{count}:{revisions}:{activity.isoformat() if activity else ''}"
    recent = f"flags:{exam_id}:recent:{int(now.timestamp()) // ROSTER_STALE_SECONDS}"
    kinds = cache.get(version) or cache.get(recent)
    if kinds is None:
        kinds = {}
        for flag in _all_flags(session, exam_id):
            mine = kinds.setdefault(str(flag.attempt_id), [])
            if flag.kind not in mine:
                mine.append(flag.kind)
        # Values never change under a key (the process-local cache layer relies on it).
        cache.set(version, kinds, ROSTER_CACHE_SECONDS)
        cache.set(recent, kinds, ROSTER_STALE_SECONDS)
    return kinds


def _all_flags(session: Session, exam_id: uuid.UUID) -> list[Flag]:
    return [
        *concurrent_devices(session, exam_id),
        *fast_high_scores(session, exam_id),
        *copying.similar_answers(session, exam_id),
    ]


def concurrent_devices(session: Session, exam_id: uuid.UUID) -> list[Flag]:
    """Attempts whose saves went from one device to another and back, each step less than
    CONCURRENT_WINDOW after the one before. A device is a login session and an address: one
    handover (a laptop that died, the exam finished on another) is not flagged."""
    saves = session.connection().execute(
        select(
            rows.as_text(AttemptEvent.attempt_id),
            AttemptEvent.created_at,
            AttemptEvent.data["sid"].as_string(),
            AttemptEvent.data["address"].as_string(),
        )
        .join(Attempt, Attempt.id == AttemptEvent.attempt_id)
        .where(Attempt.exam_id == exam_id, AttemptEvent.kind == "saved")
        .order_by(AttemptEvent.attempt_id, AttemptEvent.id)
    )
    by_attempt: dict[str, list[tuple[datetime, tuple[str | None, str | None]]]] = {}
    for attempt_id, at, sid, address in saves:
        by_attempt.setdefault(attempt_id, []).append((at, (sid, address)))
    return [
        flag
        for attempt_id, trail in by_attempt.items()
        if (flag := _alternation(attempt_id, trail))
    ]


def _alternation(
    attempt_id: str, trail: list[tuple[datetime, tuple[str | None, str | None]]]
) -> Flag | None:
    """A flag when device runs X, Y, X follow each other within the window."""
    runs: list[list[Any]] = []  # [device, first save, last save]
    for at, device in trail:
        if runs and runs[-1][0] == device:
            runs[-1][2] = at
        else:
            runs.append([device, at, at])
    close = [
        b[1] - a[2] <= CONCURRENT_WINDOW for a, b in zip(runs, runs[1:], strict=False)
    ]  # switch i: from run i to run i+1
    returns = [
        i
        for i in range(len(runs) - 2)
        if close[i] and close[i + 1] and runs[i][0] == runs[i + 2][0]
    ]
    if not returns:
        return None
    switches = sum(close)
    sessions = len({device[0] for device, _, _ in runs})
    addresses = sorted({device[1] or "unknown" for device, _, _ in runs})
    first = runs[returns[0] + 1][1]
    detail = (
        f"Answers were saved alternately from {_count(sessions, 'login session')} "
        f"({_count(len(addresses), 'address', 'addresses')}: {', '.join(addresses)}): "
        f"{_count(switches, 'switch', 'switches')} less than "
        f"{int(CONCURRENT_WINDOW.total_seconds() // 60)} minutes apart, "
        f"the first at {first:%H:%M:%S} UTC."
    )
    return Flag(uuid.UUID(attempt_id), "concurrent_devices", detail, float(switches))


def fast_high_scores(session: Session, exam_id: uuid.UUID) -> list[Flag]:
    """Graded attempts with at least HIGH_SCORE of their points submitted in less than
    FAST_FRACTION of the median time of the exam's submitted attempts."""
    submitted = session.execute(
        select(Attempt.id, Attempt.status, Attempt.started_at, Attempt.submitted_at,
               Attempt.score, Attempt.max_score)
        .where(Attempt.exam_id == exam_id, Attempt.submitted_at.is_not(None))
    ).all()  # fmt: skip
    if len(submitted) < FAST_MIN_SUBMITTED:
        return []
    seconds = {row.id: (row.submitted_at - row.started_at).total_seconds() for row in submitted}
    median = st.median(list(seconds.values())) or 0.0
    flags = []
    for row in submitted:
        if row.status != AttemptStatus.GRADED or not row.max_score or row.score is None:
            continue
        share = float(row.score / row.max_score)
        took = max(seconds[row.id], 1.0)
        if share >= HIGH_SCORE and took < FAST_FRACTION * median:
            detail = (
                f"Submitted after {_duration(took)}, {took / median:.0%} of the median time "
                f"({_duration(median)}), with {share:.0%} of the points."
            )
            flags.append(Flag(row.id, "fast_high_score", detail, round(median / took, 2)))
    return flags


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
