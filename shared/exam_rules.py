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


def expires_at(exam: Exam, deadline: datetime) -> datetime:
    """Saves are accepted until deadline + grace; after that the attempt is submitted."""
    return deadline + timedelta(seconds=exam.grace_seconds)


def results_visible(exam: Exam, now: datetime) -> bool:
    """Whether students may see graded results of this exam now (an admin's explicit
    release counts in every mode)."""
    if exam.results_released_at is not None or exam.results_release == ResultsRelease.IMMEDIATE:
        return True
    if exam.results_release == ResultsRelease.AFTER_CLOSE:
        return exam.closes_at is not None and now >= exam.closes_at
    return exam.results_released_at is not None


def seconds_left(deadline: datetime, now: datetime) -> int:
    """Whole seconds until the deadline, never negative (rounded down: never promise more)."""
    return max(0, int((deadline - now).total_seconds()))
