"""Moodle XML reader and writer, on a file laid out as Moodle 4 exports it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.errors import InvalidInput, UnsupportedMediaType
from shared.interop.formats import moodle_xml
from tests.unit.format_cases import ALL_TYPES, LIMITS, fixture


def test_a_moodle_export_maps_onto_our_types():
    result = moodle_xml.read(fixture("moodle_supported.xml"), LIMITS)
    assert result.errors == []
    capital, primes, rivers, boils, planet, division, essay = result.definitions
    assert capital["type"] == "single_choice" and capital["correct_answer"] == "B"
    assert capital["points"] == 2  # <defaultgrade>2.0000000</defaultgrade>
    assert [o["text"] for o in capital["options"]] == ["Lyon", "Paris", "Marseille & Nice"]
    assert capital["explanation"] == "Paris has been the capital since 987."
    assert capital["tags"] == ["capitals", "Europe"]  # its tag and its category
    assert (primes["type"], primes["correct_answer"], primes["scoring"]) == (
        "multiple_choice", ["A", "C"], "partial",
    )  # fmt: skip
    assert (rivers["correct_answer"], rivers["scoring"]) == (["A", "B"], "all_or_nothing")
    assert boils["type"] == "true_false" and boils["correct_answer"] is True
    assert planet["correct_answer"] == ["Jupiter", "planet Jupiter"]
    assert planet["case_sensitive"] is True  # <usecase>1</usecase>
    assert (division["correct_answer"], division["tolerance"]) == (3.14, Decimal("0.01"))
    assert division["points"] == Decimal("1.5")
    assert essay["type"] == "essay" and essay["points"] == 5


def test_html_is_sanitised_to_text_and_media_are_reported():
    result = moodle_xml.read(fixture("moodle_supported.xml"), LIMITS)
    capital = result.definitions[0]
    assert capital["prompt"] == "What is the capital of France?"
    assert "alert" not in str(result.definitions) and "<" not in capital["prompt"]
    map_warnings = [w.message for w in result.warnings if w.column == "Capital of France"]
    assert map_warnings == ["refers to a file that is not imported (map.png); only text is kept"]


def test_what_cannot_be_held_exactly_is_a_warning():
    result = moodle_xml.read(fixture("moodle_supported.xml"), LIMITS)
    notes = {(w.row, w.column): w.message for w in result.warnings}
    assert "unequal answer weights" in notes[(3, "Weighted rivers")]
    assert "partial credit" in notes[(5, "Largest planet")]


def test_question_types_we_cannot_hold_are_errors_naming_them():
    result = moodle_xml.read(fixture("moodle_unsupported.xml"), LIMITS)
    assert len(result.definitions) == 1
    named = [(e.row, e.column, e.message.split("'")[1]) for e in result.errors]
    assert named == [
        (2, "Capitals matching", "matching"),
        (3, "Embedded answers", "cloze"),
        (4, "Drag words", "ddwtos"),
        (5, "Area", "calculated"),
        (6, "Read this first", "description"),
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("billion_laughs.xml", "declares a DTD or entities"),
        ("external_entity.xml", "declares a DTD or entities"),
        ("malformed.xml", "not well-formed XML"),
    ],
)
def test_hostile_or_broken_xml_is_refused(name, message):
    with pytest.raises(InvalidInput, match=message):
        moodle_xml.read(fixture(name), LIMITS)


def test_an_unknown_encoding_is_malformed_xml():
    with pytest.raises(InvalidInput, match="unknown encoding"):
        moodle_xml.read(b'<?xml version="1.0" encoding="UTF-9"?><quiz/>', LIMITS)


def test_xml_that_is_not_a_moodle_quiz_is_unsupported():
    with pytest.raises(UnsupportedMediaType):
        moodle_xml.read(b"<html><body>hi</body></html>", LIMITS)


def test_every_type_round_trips():
    result = moodle_xml.read(moodle_xml.write(ALL_TYPES), LIMITS)
    assert result.errors == [] and result.warnings == []
    assert result.definitions == ALL_TYPES


def test_the_export_uses_moodle_question_types():
    text = moodle_xml.write(ALL_TYPES).decode()
    for qtype in ("multichoice", "multichoiceset", "truefalse", "shortanswer", "numerical"):
        assert f'<question type="{qtype}">' in text
    assert '<answer fraction="50" format="plain_text">' in text  # partial: equal shares
    assert "<defaultgrade>2</defaultgrade>" in text and "<usecase>1</usecase>" in text


def test_a_single_choice_with_two_right_answers_cannot_be_held():
    quiz = b"""<quiz><question type="multichoice"><name><text>Two</text></name>
      <questiontext format="html"><text>Pick a prime</text></questiontext>
      <single>true</single>
      <answer fraction="100"><text>2</text></answer>
      <answer fraction="100"><text>3</text></answer>
      <answer fraction="0"><text>4</text></answer>
    </question></quiz>"""
    result = moodle_xml.read(quiz, LIMITS)
    assert result.definitions == []
    assert [(e.row, e.column) for e in result.errors] == [(1, "Two")]
    assert "several answers give full marks" in result.errors[0].message
