"""Pure time and visibility rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from shared.exam_rules import (
    deadline_for,
    expires_at,
    is_open,
    keys_visible,
    results_visible,
    seconds_left,
)
from shared.models import Exam, utcnow

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def exam(**fields) -> Exam:
    defaults = {
        "status": "published", "duration_seconds": 3600, "grace_seconds": 30,
        "results_release": "immediate", "opens_at": None, "closes_at": None,
        "results_released_at": None,
    }  # fmt: skip
    return Exam(**{**defaults, **fields})


def test_deadline_is_start_plus_duration_plus_extra_time():
    assert deadline_for(exam(), T0) == T0 + timedelta(hours=1)
    assert deadline_for(exam(), T0, extra_seconds=900) == T0 + timedelta(hours=1, minutes=15)


def test_closes_at_caps_the_deadline_even_with_extra_time():
    closes = T0 + timedelta(minutes=40)
    assert deadline_for(exam(closes_at=closes), T0, extra_seconds=3600) == closes


def test_saves_end_at_deadline_plus_grace():
    assert expires_at(exam(grace_seconds=30), T0) == T0 + timedelta(seconds=30)
    assert expires_at(exam(grace_seconds=0), T0) == T0


@pytest.mark.parametrize(
    ("fields", "moment", "expected"),
    [
        ({}, T0, True),
        ({"status": "draft"}, T0, False),
        ({"status": "archived"}, T0, False),
        ({"opens_at": T0}, T0, True),
        ({"opens_at": T0}, T0 - timedelta(seconds=1), False),
        ({"closes_at": T0}, T0 - timedelta(seconds=1), True),
        ({"closes_at": T0}, T0, False),
    ],
)
def test_is_open(fields, moment, expected):
    assert is_open(exam(**fields), moment) is expected


def test_results_visibility_per_release_mode():
    assert results_visible(exam(), T0)
    after_close = exam(results_release="after_close", closes_at=T0)
    assert not results_visible(after_close, T0 - timedelta(seconds=1))
    assert not results_visible(after_close, T0 + timedelta(seconds=29))  # still saving in grace
    assert results_visible(after_close, T0 + timedelta(seconds=30))
    manual = exam(results_release="manual")
    assert not results_visible(manual, T0)
    assert results_visible(exam(results_release="manual", results_released_at=T0), T0)
    early = exam(results_release="after_close", closes_at=T0, results_released_at=T0)
    assert results_visible(early, T0 - timedelta(hours=1))  # released by hand before the close


@pytest.mark.parametrize(
    ("fields", "moment", "anyone", "student", "expected"),
    [
        ({"show_correct_answers": False}, T0, False, False, False),
        ({}, T0, False, False, True),  # immediate, nothing left to take
        ({}, T0, True, False, True),  # classmates still writing: immediate allows it
        ({}, T0, False, True, False),  # this student can still start or save
        ({"results_release": "after_close", "closes_at": T0}, T0 + timedelta(seconds=29),
         False, False, False),
        ({"results_release": "after_close", "closes_at": T0}, T0 + timedelta(seconds=30),
         False, False, True),
        ({"results_release": "after_close", "closes_at": T0}, T0 + timedelta(hours=1),
         True, False, False),  # an attempt given time past the close still saves
        ({"results_release": "after_close", "closes_at": T0 + timedelta(hours=1),
          "results_released_at": T0}, T0, False, False, False),  # released early by hand
        ({"results_release": "manual"}, T0, False, False, False),
        ({"results_release": "manual", "results_released_at": T0}, T0, True, False, False),
        ({"results_release": "manual", "results_released_at": T0}, T0, False, True, True),
    ],
)  # fmt: skip
def test_keys_only_when_no_attempt_that_could_use_them_can_still_save(
    fields, moment, anyone, student, expected
):
    rules = exam(**{"show_correct_answers": True, **fields})
    visible = keys_visible(rules, moment, anyone_can_save=anyone, student_can_continue=student)
    assert visible is expected


def test_seconds_left_rounds_down_and_never_goes_negative():
    assert seconds_left(T0 + timedelta(seconds=10.9), T0) == 10
    assert seconds_left(T0 - timedelta(seconds=5), T0) == 0


def test_the_clock_is_the_server_clock_in_utc():
    with freeze_time("2026-11-22 10:00:00"):
        assert utcnow() == T0 and utcnow().tzinfo is UTC
