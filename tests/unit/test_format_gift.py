"""GIFT reader and writer, on files written as Moodle's GIFT documentation shows them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from shared.interop.formats import gift
from shared.spreadsheets.safety import UploadLimits
from tests.unit.format_cases import ALL_TYPES, LIMITS, fixture


def read(text: str):
    return gift.read(text.encode(), LIMITS)


def test_moodle_documentation_examples_map_onto_our_types():
    result = gift.read(fixture("moodle_supported.gift"), LIMITS)
    assert result.errors == []
    by_prompt = {d["prompt"]: d for d in result.definitions}
    assert [d["type"] for d in result.definitions] == [
        "true_false", "single_choice", "short_text", "numeric", "numeric", "numeric",
        "multiple_choice", "essay", "single_choice", "single_choice",
    ]  # fmt: skip
    assert by_prompt["1+1=2"]["correct_answer"] is True
    spectrum = by_prompt["What's between orange and green in the spectrum?"]
    assert [o["text"] for o in spectrum["options"]] == ["yellow", "red", "blue"]
    assert spectrum["correct_answer"] == "A"
    assert by_prompt["Two plus _____ equals four."]["correct_answer"] == ["two", "2"]
    ranges = [d for d in result.definitions if d["prompt"] == "What is a number from 1 to 5?"]
    assert [(d["correct_answer"], d["tolerance"]) for d in ranges] == [(3, 2), (3, 2)]
    tomb = by_prompt["What two people are entombed in Grant's tomb?"]
    assert tomb["correct_answer"] == ["B", "C"] and tomb["scoring"] == "partial"
    assert tomb["tags"] == ["history", "Spectrum"]  # a [tag:] comment and the category
    assert by_prompt["How are you?"]["explanation"] == "Any honest answer is fine."


def test_html_becomes_safe_text_and_media_are_reported():
    result = gift.read(fixture("moodle_supported.gift"), LIMITS)
    bold = next(d for d in result.definitions if d["prompt"].startswith("Which word"))
    assert bold["prompt"] == "Which word is bold?"
    assert [o["text"] for o in bold["options"]] == ["this", "plain"]
    assert "alert" not in str(result.definitions)
    media = [w for w in result.warnings if "bold.png" in w.message]
    assert len(media) == 1 and media[0].column == "Q10" and media[0].row == 39


def test_escaped_characters_are_read_as_themselves():
    result = gift.read(fixture("moodle_supported.gift"), LIMITS)
    escaped = result.definitions[-1]
    assert escaped["prompt"] == "Which is the escape character in GIFT: ~, =, # or \\?"
    assert [o["text"] for o in escaped["options"]] == ["\\", "~", "=", "#"]


def test_partial_credit_that_cannot_be_held_is_a_warning():
    result = gift.read(fixture("moodle_supported.gift"), LIMITS)
    grant = [w for w in result.warnings if w.column == "Q7"]
    assert [w.message for w in grant] == ["answers with partial credit were left out"]
    weighted = read("Rivers? {~%70%Seine ~%30%Loire ~Thames}")
    assert weighted.definitions[0]["scoring"] == "all_or_nothing"
    assert "unequal answer weights" in weighted.warnings[0].message


def test_items_we_cannot_hold_are_errors_naming_them():
    result = gift.read(fixture("moodle_unsupported.gift"), LIMITS)
    assert [(e.row, e.column) for e in result.errors] == [(6, "Q4"), (9, "Intro")]
    assert "matching" in result.errors[0].message
    assert "description" in result.errors[1].message


def test_unbalanced_braces_name_the_line():
    result = gift.read(fixture("unbalanced.gift"), LIMITS)
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.row == 3 and error.column == "Q2" and "unbalanced braces" in error.message


def test_every_type_round_trips():
    written = gift.write(ALL_TYPES)
    result = gift.read(written, LIMITS)
    assert result.errors == [] and result.warnings == []
    assert result.definitions == ALL_TYPES


def test_the_export_looks_like_moodle_gift():
    text = gift.write(ALL_TYPES[:2]).decode()
    assert "// [tag:geography] [tag:europe] [points:2]" in text
    assert "::Q1::[plain]What is the capital of France?\\nPick one.{" in text
    assert "\t=Paris\n" in text and "\t~%50%2\n\t~%-50%4\n" in text


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\xff\xfe\x00\x00binary", UnsupportedMediaType),
        (b"caf\xe9 {T}", InvalidInput),
    ],
)
def test_files_that_are_not_gift_text_are_refused(data, error):
    with pytest.raises(error):
        gift.read(data, LIMITS)


def test_too_many_questions_are_refused():
    small = UploadLimits(max_bytes=1 << 20, max_uncompressed_bytes=1 << 20, max_rows=2)
    with pytest.raises(PayloadTooLarge):
        gift.read(b"A {T}\n\nB {T}\n\nC {T}\n", small)


def test_a_file_without_questions_says_so():
    result = read("// only a comment\n")
    assert result.definitions == [] and "no questions" in result.errors[0].message


def test_numeric_ranges_and_points_comment():
    result = read("// [points:2.5]\nA number between 1 and 2 {#1..2}")
    assert result.definitions[0]["correct_answer"] == 1.5
    assert result.definitions[0]["tolerance"] == Decimal("0.5")
    assert result.definitions[0]["points"] == Decimal("2.5")


MOODLE_EXPORT = """// question: 0  name: Switch category to Mechanics
$CATEGORY: $course$/top/Default for Physics/Mechanics


// question: 812  name: Speed of light
// [tag:constants]
::Speed of light::[html]<p>The speed of light in vacuum, in km/s?</p>{#
\t=%100%299792:1#
\t=%50%300000:1000#Close.
}


// question: 813  name: Newton
::Newton::[html]<p>Newton's first law is about\\:</p>{
\t=<p>inertia</p>#
\t~<p>gravity</p>#
\t~%50%<p>motion</p>#
}


// question: 814  name: Units
::Units::[html]<p>Which are SI base units?</p>{
\t~%50%<p>metre</p>#
\t~%50%<p>kilogram</p>#
\t~%-100%<p>litre</p>#
}


// question: 815  name: Symbol
::Symbol::[html]<p>Symbol of force?</p>{
\t=%100%F#
\t=%50%f#
}


// question: 816  name: Vacuum
::Vacuum::[html]<p>Sound travels in a vacuum.</p>{FALSE#Wrong.#Right.}


// question: 817  name: Essay
::Essay::[html]<p>Describe an experiment.</p>{}
"""


def test_a_file_as_moodle_exports_it():
    result = read(MOODLE_EXPORT)
    assert result.errors == []
    light, newton, units, symbol, vacuum, essay = result.definitions
    assert (light["type"], light["correct_answer"], light["tolerance"]) == ("numeric", 299792, 1)
    assert light["tags"] == ["constants", "Mechanics"]
    assert newton["prompt"] == "Newton's first law is about:"
    assert newton["type"] == "single_choice" and newton["correct_answer"] == "A"
    assert [o["text"] for o in newton["options"]] == ["inertia", "gravity", "motion"]
    assert (units["type"], units["correct_answer"], units["scoring"]) == (
        "multiple_choice", ["A", "B"], "partial",
    )  # fmt: skip
    assert symbol["type"] == "short_text" and symbol["correct_answer"] == ["F"]
    assert vacuum["type"] == "true_false" and vacuum["correct_answer"] is False
    assert essay["type"] == "essay"
    lost = sorted(w.column for w in result.warnings)
    assert lost == ["Newton", "Speed of light", "Symbol"]  # partial credit left out


def test_a_single_choice_with_two_right_answers_cannot_be_held():
    result = read("::Two:: Pick a prime {=2 =3 ~4}")
    assert result.definitions == []
    assert [(e.row, e.column) for e in result.errors] == [(1, "Two")]
    assert "several answers give full marks" in result.errors[0].message
