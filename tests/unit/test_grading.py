"""Every question type's scoring rules and edge cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.grading import Grade, grade

ONE, TWO, THREE = Decimal(1), Decimal(2), Decimal(3)


def q(type_, key, **extra):
    return {"type": type_, "correct_answer": key, **extra}


SINGLE = q("single_choice", "B")
MULTI = q("multiple_choice", ["A", "C", "D"], scoring="all_or_nothing")
PARTIAL = q("multiple_choice", ["A", "C", "D"], scoring="partial")


@pytest.mark.parametrize(
    ("response", "expected"),
    [("B", Grade(TWO, True)), ("A", Grade(0, False)), (None, Grade(0, False)),
     ("", Grade(0, False)), (["B"], Grade(0, False)), ("b", Grade(0, False)),
     (2, Grade(0, False))],
)  # fmt: skip
def test_single_choice(response, expected):
    assert grade(SINGLE, response, TWO) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (["A", "C", "D"], Grade(THREE, True)),
        (["D", "A", "C"], Grade(THREE, True)),  # order doesn't matter
        (["A", "C", "D", "A"], Grade(THREE, True)),  # a duplicate counts once
        (["A", "C"], Grade(0, False)),
        (["A", "B", "C", "D"], Grade(0, False)),
        ([], Grade(0, False)),
        (None, Grade(0, False)),
        ("A", Grade(0, False)),
        ([1, 2], Grade(0, False)),
    ],
)
def test_multiple_choice_all_or_nothing(response, expected):
    assert grade(MULTI, response, THREE) == expected


@pytest.mark.parametrize(
    ("response", "points", "is_correct"),
    [
        (["A", "C", "D"], "3", True),
        (["A", "C"], "2", False),  # two of three right: 2/3 of the points
        (["A", "C", "B"], "1", False),  # two right, one wrong
        (["A", "B"], "0", False),  # one right, one wrong
        (["B"], "0", False),  # never below zero
        (["A", "A", "A"], "1", False),  # duplicates count once
        ([], "0", False),
    ],
)
def test_multiple_choice_partial(response, points, is_correct):
    assert grade(PARTIAL, response, THREE) == Grade(Decimal(points), is_correct)


def test_partial_credit_rounds_to_cents_and_full_marks_stay_exact():
    assert grade(PARTIAL, ["A", "C"], ONE).points == Decimal("0.67")
    assert grade(PARTIAL, ["A"], ONE).points == Decimal("0.33")
    assert grade(PARTIAL, ["A", "C", "D"], ONE).points == ONE


@pytest.mark.parametrize(
    ("response", "correct"),
    [(True, True), (False, False), ("true", False), (1, False), (None, False)],
)
def test_true_false(response, correct):
    assert grade(q("true_false", True), response, ONE).is_correct is correct


@pytest.mark.parametrize(
    ("response", "case_sensitive", "correct"),
    [
        ("Paris", False, True),
        ("  paris  ", False, True),
        ("PARIS", False, True),
        ("Paris  City", False, True),  # inner white space collapses
        ("paris city", False, True),
        ("Lyon", False, False),
        ("", False, False),
        ("paris", True, False),
        ("Paris", True, True),
        (["Paris"], False, False),
        (None, False, False),
    ],
)
def test_short_text(response, case_sensitive, correct):
    question = q("short_text", ["Paris", "Paris city"], case_sensitive=case_sensitive)
    assert grade(question, response, ONE).is_correct is correct


COMPOSED, DECOMPOSED = "caf\u00e9", "cafe\u0301"  # both look like "café"


@pytest.mark.parametrize(
    ("key", "response", "case_sensitive"),
    [
        (COMPOSED, DECOMPOSED, False),
        (DECOMPOSED, COMPOSED, False),
        (COMPOSED, DECOMPOSED, True),
        (COMPOSED, "CAFE\u0301", False),  # case folded, and still one é
        ("\u00c5ngstr\u00f6m", "A\u030angstro\u0308m", True),  # Å and ö, each two ways
        ("\u212bngstr\u00f6m", "\u00c5ngstr\u00f6m", True),  # the Angstrom sign is Å in NFC
    ],
)
def test_short_text_is_compared_after_nfc_normalisation(key, response, case_sensitive):
    question = q("short_text", [key], case_sensitive=case_sensitive)
    assert grade(question, response, ONE).is_correct is True


def test_nfc_normalisation_never_merges_different_letters():
    question = q("short_text", [COMPOSED], case_sensitive=False)
    assert grade(question, "cafe", ONE).is_correct is False  # no accent is another answer
    assert grade(question, "caf\u00e8", ONE).is_correct is False  # è is not é


@pytest.mark.parametrize(
    ("response", "tolerance", "correct"),
    [
        (0.1 + 0.2, "0", False),  # the float 0.30000000000000004 is not 0.3
        (0.3, "0", True),
        (0.31, "0.01", True),
        (0.32, "0.01", False),
        (0.29, "0.01", True),
        (1, "0", False),
        (True, "100", False),  # a boolean is not a number
        ("0.3", "0", False),  # a numeric question takes numbers, not strings
        (None, "0", False),
        ([0.3], "0", False),
    ],
)
def test_numeric_compares_exact_decimals(response, tolerance, correct):
    question = q("numeric", 0.3, tolerance=Decimal(tolerance))
    assert grade(question, response, ONE).is_correct is correct


def test_numeric_key_of_a_sum_is_exact():
    """0.1 + 0.2 typed by a student as 0.3 matches a key computed as Decimal 0.1 + 0.2."""
    question = q("numeric", float(Decimal("0.1") + Decimal("0.2")), tolerance=Decimal(0))
    assert grade(question, 0.3, ONE).is_correct


@pytest.mark.parametrize("response", ["An answer", "", None, 42])
def test_essays_wait_for_a_human(response):
    assert grade(q("essay", None), response, Decimal(5)) == Grade(None, None, needs_manual=True)
