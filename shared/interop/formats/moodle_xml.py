"""Moodle XML (`<quiz><question type="...">`): multichoice, multichoiceset, truefalse,
shortanswer, numerical and essay; any other type is an error naming it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from shared.errors import PayloadTooLarge, UnsupportedMediaType
from shared.interop.formats.common import (
    Item,
    ReadResult,
    category_tag,
    child,
    children,
    choice_scoring,
    descendants,
    finish,
    html_to_text,
    note_media,
    number_text,
    parse_xml,
    points_of,
    share,
)
from shared.question_types import to_decimal
from shared.spreadsheets.safety import UploadLimits

HELD = "multichoice, multichoiceset, truefalse, shortanswer, numerical and essay"
PLAIN_FORMATS = ("plain_text", "markdown")


def read(data: bytes, limits: UploadLimits) -> ReadResult:
    """Definitions from a Moodle XML export; errors name the question's number and name."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the file is larger than {limits.max_bytes // 1024} KiB")
    root = parse_xml(data, "Moodle XML file")
    if root.tag != "quiz":
        raise UnsupportedMediaType("not a Moodle XML file: its root element is not <quiz>")
    result = ReadResult()
    category: str | None = None
    number = 0
    for question in children(root, "question"):
        qtype = question.get("type", "")
        if qtype == "category":
            category = category_tag(_text(child(question, "category")))
            continue
        number += 1
        if number > limits.max_rows:
            raise PayloadTooLarge(f"the file has more than {limits.max_rows} questions")
        item = Item(number, _text(child(question, "name")) or None)
        _question(result, item, question, qtype, category)
    if not result.definitions and not result.errors:
        result.errors.append(Item(None, None).error("the file holds no questions"))
    return result


def _text(element: Element | None) -> str:
    """The raw <text> of an element (its markup as written)."""
    found = child(element, "text")
    return (found.text or "").strip() if found is not None else ""


def _rich(element: Element | None) -> str:
    """An element's <text> as safe plain text, by its format attribute."""
    raw = _text(element)
    if element is not None and element.get("format") in PLAIN_FORMATS:
        return raw
    return html_to_text(raw)


def _question(
    result: ReadResult, item: Item, question: Element, qtype: str, category: str | None
) -> None:
    read_type = READERS.get(qtype)
    if read_type is None:
        result.errors.append(
            item.error(f"Moodle question type {qtype!r} cannot be imported (we hold {HELD})")
        )
        return
    prompt = child(question, "questiontext")
    texts = [_text(prompt), *(_text(a) for a in children(question, "answer"))]
    note_media(result, item, *texts)
    files = [f.get("name", "?") for f in descendants(question, "file")]
    unnamed = [name for name in files if not any(name in text for text in texts)]
    if unnamed:
        result.warnings.append(
            item.error(f"embedded files are not imported ({', '.join(unnamed)})")
        )
    data = read_type(result, item, question)
    if data is None:
        return
    tag_list = child(question, "tags")
    tags = [_text(tag) for tag in children(tag_list, "tag")] if tag_list is not None else []
    if category:
        tags.append(category)
    data.update(
        prompt=_rich(prompt),
        explanation=_rich(child(question, "generalfeedback")) or None,
        tags=[tag for tag in tags if tag],
    )
    points = points_of(result, item, _text_value(question, "defaultgrade"))
    if points is not None:
        data["points"] = points
    finish(result, item, data, lambda field: field)


def _text_value(element: Element, name: str) -> str | None:
    found = child(element, name)
    return found.text if found is not None else None


def _answers(question: Element) -> list[tuple[Decimal, str, Element]]:
    answers = []
    for answer in children(question, "answer"):
        weight = to_decimal(answer.get("fraction", "0")) or Decimal(0)
        answers.append((weight, _text(answer), answer))
    return answers


def _multichoice(result: ReadResult, item: Item, question: Element) -> dict[str, Any] | None:
    answers = _answers(question)
    options = [{"id": chr(ord("A") + i), "text": _rich(a)} for i, (_, _, a) in enumerate(answers)]
    positive = [(o["id"], w) for o, (w, _, _) in zip(options, answers, strict=True) if w > 0]
    single = (_text_value(question, "single") or "true").strip().lower() in ("true", "1")
    data: dict[str, Any] = {"options": options}
    if single:
        full = [oid for oid, weight in positive if weight >= 100]
        if len(full) > 1:
            result.errors.append(
                item.error("several answers give full marks: a single choice has one right answer")
            )
            return None
        if len(positive) > len(full):
            result.warnings.append(item.error("answers with partial credit were left out"))
        return {**data, "type": "single_choice", "correct_answer": full[0] if full else None}
    scoring, exact = choice_scoring([w for _, w in positive])
    if not exact:
        result.warnings.append(
            item.error("unequal answer weights cannot be held: imported as all or nothing")
        )
    key = [oid for oid, _ in positive]
    return {**data, "type": "multiple_choice", "correct_answer": key, "scoring": scoring}


def _multichoiceset(result: ReadResult, item: Item, question: Element) -> dict[str, Any]:
    """The all-or-nothing multiple choice plugin: every answer marked correct must be chosen."""
    answers = _answers(question)
    options = [{"id": chr(ord("A") + i), "text": _rich(a)} for i, (_, _, a) in enumerate(answers)]
    key = [o["id"] for o, (w, _, _) in zip(options, answers, strict=True) if w > 0]
    return {
        "type": "multiple_choice",
        "options": options,
        "correct_answer": key,
        "scoring": "all_or_nothing",
    }


def _truefalse(result: ReadResult, item: Item, question: Element) -> dict[str, Any]:
    key = None
    for weight, text, _ in _answers(question):
        if weight >= 100 and text.lower() in ("true", "false"):
            key = text.lower() == "true"
    return {"type": "true_false", "correct_answer": key}


def _shortanswer(result: ReadResult, item: Item, question: Element) -> dict[str, Any]:
    answers = _answers(question)
    accepted = [text for weight, text, _ in answers if weight >= 100]
    if any(0 < weight < 100 for weight, _, _ in answers):
        result.warnings.append(item.error("answers with partial credit were left out"))
    case = (_text_value(question, "usecase") or "0").strip() in ("1", "true")
    return {"type": "short_text", "correct_answer": accepted, "case_sensitive": case}


def _numerical(result: ReadResult, item: Item, question: Element) -> dict[str, Any] | None:
    full = [(text, a) for weight, text, a in _answers(question) if weight >= 100 and text != "*"]
    if len(full) != 1:
        result.errors.append(item.error("a numerical question needs exactly one 100 % answer"))
        return None
    if len([a for _, text, a in _answers(question) if text != "*"]) > 1:
        result.warnings.append(item.error("answers with partial credit were left out"))
    if descendants(question, "unit"):
        result.warnings.append(item.error("units are not held: only the number is checked"))
    text, answer = full[0]
    tolerance = _text_value(answer, "tolerance")
    return {
        "type": "numeric",
        "correct_answer": to_decimal(text) if to_decimal(text) is not None else text,
        "tolerance": to_decimal(tolerance) if tolerance and tolerance.strip() else None,
    }


def _essay(result: ReadResult, item: Item, question: Element) -> dict[str, Any]:
    return {"type": "essay"}


READERS = {
    "multichoice": _multichoice,
    "multichoiceset": _multichoiceset,
    "truefalse": _truefalse,
    "shortanswer": _shortanswer,
    "numerical": _numerical,
    "essay": _essay,
}


# -- writing ----------------------------------------------------------------------------


def _texted(parent: Element, name: str, text: str, **attributes: str) -> Element:
    element = SubElement(parent, name, attributes)
    SubElement(element, "text").text = text
    return element


def write(definitions: Iterable[dict[str, Any]]) -> bytes:
    """A Moodle XML file Moodle's question import reads (texts in plain_text format)."""
    quiz = Element("quiz")
    for definition in definitions:
        _write_question(quiz, definition)
    indent(quiz)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(quiz, encoding="utf-8") + b"\n"


def _write_question(quiz: Element, definition: dict[str, Any]) -> None:
    qtype = definition["type"]
    moodle_type = {
        "single_choice": "multichoice",
        "multiple_choice": "multichoice"
        if definition.get("scoring") == "partial"
        else "multichoiceset",
        "true_false": "truefalse",
        "short_text": "shortanswer",
        "numeric": "numerical",
        "essay": "essay",
    }[qtype]
    question = SubElement(quiz, "question", type=moodle_type)
    _texted(question, "name", " ".join(definition["prompt"].split())[:60])
    _texted(question, "questiontext", definition["prompt"], format="plain_text")
    _texted(question, "generalfeedback", definition.get("explanation") or "", format="plain_text")
    SubElement(question, "defaultgrade").text = number_text(definition["points"])
    SubElement(question, "penalty").text = "0"
    SubElement(question, "hidden").text = "0"
    _write_answers(question, definition)
    if definition["tags"]:
        tags = SubElement(question, "tags")
        for tag in definition["tags"]:
            _texted(tags, "tag", tag)


def _answer(question: Element, fraction: str, text: str) -> Element:
    answer = _texted(question, "answer", text, fraction=fraction, format="plain_text")
    _texted(answer, "feedback", "", format="html")
    return answer


def _write_answers(question: Element, definition: dict[str, Any]) -> None:
    qtype, key = definition["type"], definition["correct_answer"]
    if qtype in ("single_choice", "multiple_choice"):
        single = qtype == "single_choice"
        SubElement(question, "single").text = "true" if single else "false"
        SubElement(question, "shuffleanswers").text = "true"
        SubElement(question, "answernumbering").text = "abc"
        keys = [key] if single else key
        right = "100" if single else share(len(keys))
        wrong = "0" if single or definition["scoring"] != "partial" else "-" + share(len(keys))
        for option in definition["options"]:
            _answer(question, right if option["id"] in keys else wrong, option["text"])
    elif qtype == "true_false":
        _answer(question, "100" if key else "0", "true")
        _answer(question, "0" if key else "100", "false")
    elif qtype == "short_text":
        SubElement(question, "usecase").text = "1" if definition["case_sensitive"] else "0"
        for accepted in key:
            _answer(question, "100", accepted)
    elif qtype == "numeric":
        answer = _answer(question, "100", number_text(key))
        SubElement(answer, "tolerance").text = number_text(definition["tolerance"] or 0)
    else:
        SubElement(question, "responseformat").text = "editor"
        SubElement(question, "responserequired").text = "1"
        SubElement(question, "responsefieldlines").text = "15"
