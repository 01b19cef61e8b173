"""Time and visibility rules of an exam, as pure functions of the clock (`now` is passed in)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.models import Exam, ExamStatus, ResultsRelease


def is_open(exam: Exam, now: datetime) -> bool:
    """Whether a student may start an attempt now."""
    if exam.status != ExamStatus.PUBLISHED:
        return False
    if exam.opens_at is not None and now < exam.opens_at:
        return False
    return exam.closes_at is None or now < exam.closes_at


def deadline_for(exam: Exam, started_at: datetime, extra_seconds: int = 0) -> datetime:
    """min(start + duration + extra time, closes_at): extra time never passes the close."""
    deadline = started_at + timedelta(seconds=exam.duration_seconds + extra_seconds)
    return min(deadline, exam.closes_at) if exam.closes_at is not None else deadline


def attempt_deadline(
    exam: Exam,
    *,
    started_at: datetime,
    accommodation_seconds: int,
    extended_seconds: int,
    reopened_at: datetime | None,
    reopen_seconds: int | None,
) -> datetime:
    """An attempt's deadline under the exam's current timing. The contract's formula, from
    the start (or from a reopening: reopened_at + reopen_seconds), plus the time an admin
    added to this attempt alone, which may pass closes_at."""
    if reopened_at is not None:
        base = reopened_at + timedelta(seconds=reopen_seconds or 0)
    else:
        base = deadline_for(exam, started_at, accommodation_seconds)
    return base + timedelta(seconds=extended_seconds)


def expires_at(exam: Exam, deadline: datetime) -> datetime:
    """Saves are accepted until deadline + grace; after that the attempt is submitted."""
    return deadline + timedelta(seconds=exam.grace_seconds)


def saves_end_at(exam: Exam) -> datetime | None:
    """closes_at + grace: after it, no attempt capped by the close can save any more."""
    return None if exam.closes_at is None else expires_at(exam, exam.closes_at)


def results_visible(exam: Exam, now: datetime) -> bool:
    """Whether students may see graded results of this exam now (an admin's explicit
    release counts in every mode). `after_close` waits for the grace period too: a student
    still saving inside it must not learn from a classmate's result."""
    if exam.results_released_at is not None or exam.results_release == ResultsRelease.IMMEDIATE:
        return True
    if exam.results_release == ResultsRelease.AFTER_CLOSE:
        end = saves_end_at(exam)
        return end is not None and now >= end
    return False


def keys_visible(
    exam: Exam, now: datetime, *, anyone_can_save: bool, student_can_continue: bool
) -> bool:
    """Whether a student may see answer keys (`correct_answer`, `explanation`) now: only
    once no attempt that could use them can still save. `immediate`: once this student can
    neither save nor start another attempt; otherwise once nobody's attempt can save (and,
    for `after_close`, not before closes_at + grace)."""
    if not exam.show_correct_answers or not results_visible(exam, now):
        return False
    if exam.results_release == ResultsRelease.IMMEDIATE:
        return not student_can_continue
    if exam.results_release == ResultsRelease.AFTER_CLOSE:
        end = saves_end_at(exam)
        if end is None or now < end:
            return False
    return not anyone_can_save


def seconds_left(deadline: datetime, now: datetime) -> int:
    """Whole seconds until the deadline, never negative (rounded down: never promise more)."""
    return max(0, int((deadline - now).total_seconds()))
