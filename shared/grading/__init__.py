"""Pure scoring: (question, response) -> points, one function per question type.

No database, no clock, no Flask: plain data in, a `Grade` out. Every grader accepts any
response (a wrong shape scores 0 instead of failing), because a stored answer may predate
a key edit and grading must never crash on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.question_types import (
    ESSAY,
    MULTIPLE_CHOICE,
    NUMERIC,
    SHORT_TEXT,
    SINGLE_CHOICE,
    TRUE_FALSE,
    normalize_text,
    to_decimal,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Grade:
    points: Decimal | None  # None: waits for a human
    is_correct: bool | None
    needs_manual: bool = False


def _all_or_nothing(correct: bool, points: Decimal) -> Grade:
    return Grade(points if correct else Decimal(0), correct)


def grade_single_choice(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    return _all_or_nothing(
        isinstance(response, str) and response == question["correct_answer"], points
    )


def grade_multiple_choice(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    key = set(question["correct_answer"])
    if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
        return Grade(Decimal(0), False)
    chosen = set(response)  # a repeated option counts once
    exact = chosen == key
    if question.get("scoring") != "partial":
        return _all_or_nothing(exact, points)
    # Each correct option chosen earns points/len(key); each wrong one costs as much.
    right, wrong = len(chosen & key), len(chosen - key)
    earned = points * Decimal(max(0, right - wrong)) / Decimal(len(key))
    return Grade(earned.quantize(CENT, rounding=ROUND_HALF_UP), exact)


def grade_true_false(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    return _all_or_nothing(
        isinstance(response, bool) and response is question["correct_answer"], points
    )


def grade_short_text(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    if not isinstance(response, str):
        return Grade(Decimal(0), False)
    case_sensitive = bool(question.get("case_sensitive"))
    accepted = {normalize_text(a, case_sensitive) for a in question["correct_answer"]}
    return _all_or_nothing(normalize_text(response, case_sensitive) in accepted, points)


def grade_numeric(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    given = to_decimal(response) if not isinstance(response, str) else None
    key = to_decimal(question["correct_answer"])
    if given is None or key is None:
        return Grade(Decimal(0), False)
    tolerance = to_decimal(question.get("tolerance") or 0) or Decimal(0)
    return _all_or_nothing(abs(given - key) <= tolerance, points)


def grade_essay(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    return Grade(None, None, needs_manual=True)


GRADERS: dict[str, Callable[[dict[str, Any], Any, Decimal], Grade]] = {
    SINGLE_CHOICE: grade_single_choice,
    MULTIPLE_CHOICE: grade_multiple_choice,
    TRUE_FALSE: grade_true_false,
    SHORT_TEXT: grade_short_text,
    NUMERIC: grade_numeric,
    ESSAY: grade_essay,
}


def grade(question: dict[str, Any], response: Any, points: Decimal) -> Grade:
    """Score one response. `question` has type, correct_answer, scoring, tolerance,
    case_sensitive; `points` is what the question is worth in this exam."""
    if response is None and question["type"] != ESSAY:
        return Grade(Decimal(0), False)
    return GRADERS[question["type"]](question, response, points)
