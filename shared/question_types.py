"""The six question types: what a valid definition and a valid student response look like.

Pure functions over plain data, shared by the API, the spreadsheet importer and autosave.
A definition error names its field, so the API and the importer can point at it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput

SINGLE_CHOICE = "single_choice"
MULTIPLE_CHOICE = "multiple_choice"
TRUE_FALSE = "true_false"
SHORT_TEXT = "short_text"
NUMERIC = "numeric"
ESSAY = "essay"
QUESTION_TYPES = (SINGLE_CHOICE, MULTIPLE_CHOICE, TRUE_FALSE, SHORT_TEXT, NUMERIC, ESSAY)
CHOICE_TYPES = (SINGLE_CHOICE, MULTIPLE_CHOICE)
SCORINGS = ("all_or_nothing", "partial")

MIN_OPTIONS, MAX_OPTIONS = 2, 10
OPTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,8}$")
MAX_PROMPT = 20_000
MAX_OPTION_TEXT = 2_000
MAX_ACCEPTED_ANSWERS = 50
MAX_SHORT_ANSWER = 1_000
MAX_ESSAY = 20_000
MAX_TAGS, MAX_TAG = 20, 50
MAX_POINTS = Decimal("10000")
# No number we take in is larger than this: exact as a double and within a spreadsheet's
# 15 significant digits; far beyond any score, tolerance or sensible answer.
MAX_MAGNITUDE = 10**15
NUMBER_MESSAGE = "must be a finite number of magnitude at most 1e15"
MAX_TOLERANCE_PLACES = 12  # questions.tolerance is NUMERIC(30, 12)

# Fields whose change alters how answers are scored: each change bumps the version.
KEY_FIELDS = (
    "type",
    "options",
    "correct_answer",
    "points",
    "scoring",
    "tolerance",
    "case_sensitive",
)


class _Errors(dict[str, list[str]]):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)


def to_decimal(value: Any) -> Decimal | None:
    """A number (never a bool, NaN, infinity or a magnitude above MAX_MAGNITUDE) as an exact
    Decimal; None if not one. Text is read as a number (spreadsheet cells)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
        return None  # before str(): Python refuses to convert more than 4300 digits
    try:  # ArithmeticError: InvalidOperation, and Overflow for "1e999999999999999999"
        number = Decimal(value) if isinstance(value, int | Decimal) else Decimal(str(value).strip())
    except (ArithmeticError, ValueError):
        return None
    # copy_abs: no context, so no rounding or overflow on a huge exponent.
    return number if number.is_finite() and number.copy_abs() <= MAX_MAGNITUDE else None


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when integral."""
    return int(value) if value == value.to_integral_value() else float(value)


def normalize_newlines(text: str) -> str:
    """CRLF and CR become LF: stored text survives an .xlsx round trip (XML drops CRs)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def normalize_text(text: str, case_sensitive: bool) -> str:
    """Short-text comparison form: Unicode NFC (an "é" typed as U+00E9 or as e + U+0301 is
    one answer), trimmed, inner white space collapsed, case folded."""
    collapsed = " ".join(unicodedata.normalize("NFC", text).split())
    if case_sensitive:
        return collapsed
    return unicodedata.normalize("NFC", collapsed.casefold())  # folding may decompose


def normalize_definition(data: dict[str, Any]) -> dict[str, Any]:
    """A complete, consistent question definition, or InvalidInput naming each bad field."""
    errors = _Errors()
    qtype = data.get("type")
    if qtype not in QUESTION_TYPES:
        errors.add("type", f"must be one of {', '.join(QUESTION_TYPES)}")
        raise InvalidInput("invalid question", errors)

    clean: dict[str, Any] = {"type": qtype}
    clean["prompt"] = _prompt(data.get("prompt"), errors)
    clean["points"] = _points(data.get("points", 1), errors)
    clean["options"] = _options(qtype, data.get("options"), errors)
    clean["scoring"] = _scoring(qtype, data.get("scoring"), errors)
    clean["tolerance"] = _tolerance(qtype, data.get("tolerance"), errors)
    clean["case_sensitive"] = _case_sensitive(qtype, data.get("case_sensitive"), errors)
    clean["correct_answer"] = _correct_answer(qtype, data.get("correct_answer"), clean, errors)
    clean["tags"] = _tags(data.get("tags"), errors)
    explanation = data.get("explanation")
    if explanation is not None and (
        not isinstance(explanation, str) or len(explanation) > MAX_PROMPT
    ):
        errors.add("explanation", f"must be text of at most {MAX_PROMPT} characters")
    clean["explanation"] = normalize_newlines(explanation) if explanation else None
    if errors:
        raise InvalidInput("invalid question", errors)
    return clean


def _prompt(prompt: Any, errors: _Errors) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        errors.add("prompt", "must not be empty")
        return ""
    if len(prompt) > MAX_PROMPT:
        errors.add("prompt", f"must be at most {MAX_PROMPT} characters")
    return normalize_newlines(prompt.strip())


def _points(points: Any, errors: _Errors) -> Decimal:
    number = to_decimal(points) if points is not None else Decimal(1)
    if number is None or number <= 0 or number > MAX_POINTS:
        errors.add("points", f"must be a number greater than 0 and at most {MAX_POINTS}")
        return Decimal(1)
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.add("points", "must have at most 2 decimal places")
    return number


def _options(qtype: str, options: Any, errors: _Errors) -> list[dict[str, str]] | None:
    if qtype not in CHOICE_TYPES:
        if options:
            errors.add("options", f"{qtype} questions have no options")
        return None
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        errors.add("options", f"a choice question needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
        return []
    clean = []
    for index, option in enumerate(options):
        if isinstance(option, str):  # a bare text: the id is assigned below
            option = {"text": option}
        if not isinstance(option, dict):
            errors.add("options", f"option {index + 1} must be an object with text")
            continue
        text = option.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_OPTION_TEXT:
            errors.add(
                "options", f"option {index + 1} needs text of 1 to {MAX_OPTION_TEXT} characters"
            )
        option_id = option.get("id")
        if option_id is None:
            option_id = chr(ord("A") + index)
        if not isinstance(option_id, str) or not OPTION_ID.match(option_id):
            errors.add("options", f"option {index + 1}: id must be a short label like A or B")
        clean.append(
            {
                "id": option_id,
                "text": normalize_newlines(text.strip()) if isinstance(text, str) else "",
            }
        )
    ids = [o["id"] for o in clean]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        errors.add("options", f"duplicate option ids: {', '.join(duplicates)}")
    return clean


def _scoring(qtype: str, scoring: Any, errors: _Errors) -> str | None:
    if qtype != MULTIPLE_CHOICE:
        if scoring is not None:
            errors.add("scoring", "only multiple_choice questions have a scoring")
        return None
    if scoring is None:
        return "all_or_nothing"
    if scoring not in SCORINGS:
        errors.add("scoring", f"must be one of {', '.join(SCORINGS)}")
    return scoring  # type: ignore[no-any-return]


def _tolerance(qtype: str, tolerance: Any, errors: _Errors) -> Decimal | None:
    if qtype != NUMERIC:
        if tolerance is not None:
            errors.add("tolerance", "only numeric questions have a tolerance")
        return None
    if tolerance is None:
        return Decimal(0)
    number = to_decimal(tolerance)
    if number is None or number < 0:
        errors.add("tolerance", "must be a number from 0 to 1e15")
        return Decimal(0)
    if number.as_tuple().exponent < -MAX_TOLERANCE_PLACES:  # type: ignore[operator]
        errors.add("tolerance", f"must have at most {MAX_TOLERANCE_PLACES} decimal places")
    return number


def _case_sensitive(qtype: str, value: Any, errors: _Errors) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        errors.add("case_sensitive", "must be true or false")
        return False
    if value and qtype != SHORT_TEXT:
        errors.add("case_sensitive", "only short_text questions can be case sensitive")
    return value


def _correct_answer(qtype: str, key: Any, clean: dict[str, Any], errors: _Errors) -> Any:
    option_ids = {o["id"] for o in clean["options"] or []}
    if qtype == ESSAY:
        if key is not None:
            errors.add("correct_answer", "essays are graded by hand and have no key")
        return None
    if key is None:
        errors.add("correct_answer", "is required")
        return None
    if qtype == SINGLE_CHOICE:
        if not isinstance(key, str) or (option_ids and key not in option_ids):
            errors.add("correct_answer", "must be the id of one of the options")
        return key
    if qtype == MULTIPLE_CHOICE:
        if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
            errors.add("correct_answer", "must be a list of at least one option id")
            return key
        if len(set(key)) != len(key):
            errors.add("correct_answer", "lists an option twice")
        unknown = sorted(set(key) - option_ids) if option_ids else []
        if unknown:
            errors.add("correct_answer", f"not an option: {', '.join(unknown)}")
        return key
    if qtype == TRUE_FALSE:
        if not isinstance(key, bool):
            errors.add("correct_answer", "must be true or false")
        return key
    if qtype == SHORT_TEXT:
        accepted = [key] if isinstance(key, str) else key
        if (
            not isinstance(accepted, list)
            or not 1 <= len(accepted) <= MAX_ACCEPTED_ANSWERS
            or not all(isinstance(a, str) and a.strip() for a in accepted)
        ):
            errors.add("correct_answer", "must be a list of 1 to 50 non-empty accepted answers")
            return key
        if any(len(a) > MAX_SHORT_ANSWER for a in accepted):
            errors.add(
                "correct_answer", f"accepted answers are at most {MAX_SHORT_ANSWER} characters"
            )
        return [" ".join(a.split()) for a in accepted]
    number = to_decimal(key)  # numeric
    if number is None:
        errors.add("correct_answer", NUMBER_MESSAGE)
        return key
    return json_number(number)


def _tags(tags: Any, errors: _Errors) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.add("tags", "must be a list of strings")
        return []
    clean: list[str] = []
    for tag in (t.strip() for t in tags):
        if not tag or len(tag) > MAX_TAG:
            errors.add("tags", f"each tag must be 1 to {MAX_TAG} characters")
        elif tag not in clean:
            clean.append(tag)
    if len(clean) > MAX_TAGS:
        errors.add("tags", f"at most {MAX_TAGS} tags")
    return clean


def response_error(qtype: str, option_ids: list[str], response: Any) -> str | None:
    """Why a student's response has the wrong shape for the question, or None if it's fine.

    `None` (clearing the answer) is always fine.
    """
    if response is None:
        return None
    if qtype == SINGLE_CHOICE:
        return None if response in option_ids else "must be the id of one of the options"
    if qtype == MULTIPLE_CHOICE:
        if not isinstance(response, list) or not all(isinstance(r, str) for r in response):
            return "must be a list of option ids"
        if len(set(response)) != len(response):
            return "lists an option twice"
        unknown = set(response) - set(option_ids)
        return f"not an option: {', '.join(sorted(unknown))}" if unknown else None
    if qtype == TRUE_FALSE:
        return None if isinstance(response, bool) else "must be true or false"
    if qtype == SHORT_TEXT:
        if not isinstance(response, str):
            return "must be text"
        return (
            None if len(response) <= MAX_SHORT_ANSWER else f"at most {MAX_SHORT_ANSWER} characters"
        )
    if qtype == NUMERIC:
        if isinstance(response, bool) or not isinstance(response, int | float):
            return "must be a number"
        return None if to_decimal(response) is not None else NUMBER_MESSAGE
    if not isinstance(response, str):  # essay
        return "must be text"
    return None if len(response) <= MAX_ESSAY else f"at most {MAX_ESSAY} characters"
