"""Moodle's GIFT text format: questions separated by blank lines, answers in braces.

Tags come from `// [tag:name]` comments (as Moodle writes them); points, a multiple
choice's scoring and case sensitivity, which GIFT cannot say, from our own `[points:2]`,
`[scoring:all_or_nothing]` and `[case_sensitive:true]` in the same comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from shared.interop.formats.common import (
    Item,
    ReadResult,
    category_tag,
    choice_scoring,
    finish,
    html_to_text,
    note_media,
    number_text,
    share,
)
from shared.question_types import to_decimal
from shared.spreadsheets.safety import UploadLimits

SPECIAL = "\\~=#{}:"
SEVERAL_RIGHT = (
    "several answers give full marks: a single choice has one right answer "
    "(give each right answer an equal share, ~%50%, for a multiple choice)"
)
_ESCAPE = re.compile(r"\\([\\~=#{}:n])")
_OFFSET = 0xE000  # private-use code points stand for escaped characters while parsing
_META = re.compile(r"\[(\w+):([^\]]*)\]")
_WEIGHT = re.compile(r"^%(-?\d+(?:\.\d+)?)%")
_FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.I)
_ANSWER = re.compile(r"([=~])")


def _protect(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(_OFFSET + ord(m.group(1))), text)


def _restore(text: str) -> str:
    restored = "".join(
        ("\n" if ord(c) - _OFFSET == ord("n") else chr(ord(c) - _OFFSET))
        if _OFFSET <= ord(c) < _OFFSET + 128
        else c
        for c in text
    )
    return restored.strip()


def read(data: bytes, limits: UploadLimits) -> ReadResult:
    """Definitions from a GIFT file; each problem names the line its question starts on."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the file is larger than {limits.max_bytes // 1024} KiB")
    if b"\x00" in data[:4096]:
        raise UnsupportedMediaType("not a GIFT text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("a GIFT file must be UTF-8 text") from None
    result = ReadResult()
    category: str | None = None
    for lines in _blocks(text):
        meta: dict[str, list[str]] = {}
        body: list[tuple[int, str]] = []
        for number, line in lines:
            stripped = line.strip()
            if stripped.startswith("//"):
                for key, value in _META.findall(stripped):
                    meta.setdefault(key.lower(), []).append(value.strip())
            elif stripped.startswith("$CATEGORY:"):
                category = category_tag(stripped[len("$CATEGORY:") :])
            else:
                body.append((number, line))
        if body:
            if len(result.definitions) + len(result.errors) >= limits.max_rows:
                raise PayloadTooLarge(f"the file has more than {limits.max_rows} questions")
            text_of = "\n".join(line for _, line in body)
            _question(result, body[0][0], text_of, meta, category)
    if not result.definitions and not result.errors:
        result.errors.append(Item(None, None).error("the file holds no questions"))
    return result


def _blocks(text: str) -> Iterable[list[tuple[int, str]]]:
    """The (line number, line) pairs of each blank-line separated block."""
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            lines.append((number, line))
        elif lines:
            yield lines
            lines = []
    if lines:
        yield lines


def _question(
    result: ReadResult, line: int, raw: str, meta: dict[str, list[str]], category: str | None
) -> None:
    text = _protect(raw.strip())
    name = None
    if text.startswith("::") and "::" in text[2:]:
        name, text = text[2:].split("::", 1)
        name = _restore(name)
    item = Item(line, name)
    problem = _shape_problem(text, line)
    if problem:
        result.errors.append(item.error(problem))
        return
    before, rest = text.split("{", 1)
    answers, after = rest.split("}", 1)
    marker = _FORMAT.match(before.strip())
    is_html = marker is not None and marker.group(1).lower() == "html"
    before = _FORMAT.sub("", before.strip())
    prompt = _restore(before) + (" _____ " + _restore(after) if after.strip() else "")
    data = _answers(result, item, answers)
    if data is None:
        return
    if is_html:
        note_media(result, item, prompt, *(o["text"] for o in data.get("options") or []))
    convert = html_to_text if is_html else (lambda s: s)
    data["prompt"] = convert(prompt.strip())
    if data.get("options"):
        data["options"] = [{**o, "text": convert(o["text"])} for o in data["options"]]
    if data.get("explanation"):
        data["explanation"] = convert(data["explanation"])
    _apply_meta(data, meta, category)
    finish(result, item, data, lambda field: field)


def _shape_problem(text: str, line: int) -> str | None:
    """Why a question's braces are not one answer block, if they are not."""
    opens, closes = text.count("{"), text.count("}")
    if opens != closes or text.find("}") < text.find("{"):
        return f"unbalanced braces {{ }} in the question at line {line}"
    if opens == 0:
        return "description items (text without answers) cannot be imported (type: description)"
    if opens > 1:
        return "several answer blocks (embedded answers) are not held"
    return None


def _apply_meta(data: dict[str, Any], meta: dict[str, list[str]], category: str | None) -> None:
    tags = list(meta.get("tag", []))
    if category and category not in tags:
        tags.append(category)
    data["tags"] = tags
    if meta.get("points"):
        data["points"] = to_decimal(meta["points"][-1])
    if data["type"] == "single_choice" and meta.get("scoring"):
        # Ours: a multiple choice with one correct option (GIFT would read a single choice).
        data.update(type="multiple_choice", correct_answer=[data["correct_answer"]])
    if data["type"] == "multiple_choice" and meta.get("scoring"):
        data["scoring"] = meta["scoring"][-1]
    if data["type"] == "short_text" and meta.get("case_sensitive"):
        data["case_sensitive"] = meta["case_sensitive"][-1].lower() == "true"


def _answers(result: ReadResult, item: Item, block: str) -> dict[str, Any] | None:
    """The type and key an answer block says."""
    explanation = None
    if "####" in block:
        block, explanation = block.split("####", 1)
        explanation = _restore(explanation)
    block = block.strip()
    data: dict[str, Any] = {"explanation": explanation or None}
    if not block:
        return {**data, "type": "essay"}
    head = block.split("#", 1)[0].strip().upper()
    if head in ("T", "TRUE", "F", "FALSE"):
        return {**data, "type": "true_false", "correct_answer": head.startswith("T")}
    if block.startswith("#"):
        return _numeric(result, item, block[1:], data)
    parts = _split_answers(block)
    if not parts:
        result.errors.append(item.error("the answer block has no answers"))
        return None
    if all(mark == "=" and "->" in text for mark, _, text in parts):
        result.errors.append(item.error("matching questions cannot be imported (type: matching)"))
        return None
    if all(mark == "=" for mark, _, _ in parts):
        return _short_text(result, item, parts, data)
    return _choice(result, item, parts, data)


def _split_answers(block: str) -> list[tuple[str, Decimal, str]]:
    """(mark, weight in %, text without feedback) for each = or ~ answer."""
    pieces = _ANSWER.split(block)
    answers = []
    for mark, body in zip(pieces[1::2], pieces[2::2], strict=True):
        body = body.split("#", 1)[0].strip()  # per-answer feedback is not held
        weight = Decimal(100) if mark == "=" else Decimal(0)
        found = _WEIGHT.match(body)
        if found:
            weight = Decimal(found.group(1))
            body = body[found.end() :].strip()
        answers.append((mark, weight, _restore(body)))
    return answers


def _short_text(
    result: ReadResult, item: Item, parts: list[tuple[str, Decimal, str]], data: dict[str, Any]
) -> dict[str, Any]:
    accepted = [text for _, weight, text in parts if weight == 100]
    if len(accepted) < len(parts):
        result.warnings.append(item.error("answers with partial credit were left out"))
    return {**data, "type": "short_text", "correct_answer": accepted}


def _choice(
    result: ReadResult, item: Item, parts: list[tuple[str, Decimal, str]], data: dict[str, Any]
) -> dict[str, Any] | None:
    options = [{"id": chr(ord("A") + i), "text": text} for i, (_, _, text) in enumerate(parts)]
    positive = [(o["id"], w) for o, (_, w, _) in zip(options, parts, strict=True) if w > 0]
    full = [oid for oid, weight in positive if weight >= 100]
    data = {**data, "options": options}
    if len(full) > 1:
        result.errors.append(item.error(SEVERAL_RIGHT))
        return None
    if len(full) == 1 and len(positive) == 1:
        return {**data, "type": "single_choice", "correct_answer": full[0]}
    if len(full) == 1:
        result.warnings.append(item.error("answers with partial credit were left out"))
        return {**data, "type": "single_choice", "correct_answer": full[0]}
    scoring, exact = choice_scoring([w for _, w in positive])
    if not exact:
        result.warnings.append(
            item.error("unequal answer weights cannot be held: imported as all or nothing")
        )
    key = [oid for oid, _ in positive]
    return {**data, "type": "multiple_choice", "correct_answer": key, "scoring": scoring}


def _numeric(
    result: ReadResult, item: Item, block: str, data: dict[str, Any]
) -> dict[str, Any] | None:
    pieces = _split_numeric(block)
    full = []
    for weight, text in pieces:
        value = _number_range(text)
        if value is None:
            result.errors.append(item.error(f"not a number or a range: {_restore(text)!r}"))
            return None
        if weight == 100:
            full.append(value)
    if len(full) != 1:
        result.errors.append(item.error("a numeric question needs exactly one 100 % answer"))
        return None
    if len(pieces) > 1:
        result.warnings.append(item.error("answers with partial credit were left out"))
    answer, tolerance = full[0]
    return {**data, "type": "numeric", "correct_answer": answer, "tolerance": tolerance}


def _split_numeric(block: str) -> list[tuple[Decimal, str]]:
    if "=" not in block:
        return [(Decimal(100), block.split("#", 1)[0].strip())]
    return [(weight, text) for _, weight, text in _split_answers(block) if text != "*"]


def _number_range(text: str) -> tuple[Decimal, Decimal] | None:
    """answer:tolerance, min..max or a bare answer as (answer, tolerance)."""
    text = _restore(text)
    if ".." in text:
        low, high = (to_decimal(p) for p in text.split("..", 1))
        if low is None or high is None or high < low:
            return None
        return (low + high) / 2, (high - low) / 2
    answer, _, tolerance = text.partition(":")
    number = to_decimal(answer)
    margin = to_decimal(tolerance) if tolerance else Decimal(0)
    return None if number is None or margin is None else (number, margin)


# -- writing ----------------------------------------------------------------------------


def escape(text: str) -> str:
    """Text with GIFT's special characters escaped and line breaks as \\n."""
    for char in SPECIAL:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def write(definitions: Iterable[dict[str, Any]]) -> bytes:
    """A GIFT file Moodle imports, one question per blank-line separated block."""
    blocks = [_block(number, d) for number, d in enumerate(definitions, start=1)]
    return ("\n\n".join(blocks) + "\n").encode("utf-8")


def _block(number: int, definition: dict[str, Any]) -> str:
    meta = [f"[tag:{tag}]" for tag in definition["tags"]]
    if Decimal(str(definition["points"])) != 1:
        meta.append(f"[points:{number_text(definition['points'])}]")
    if definition["type"] == "multiple_choice":
        meta.append(f"[scoring:{definition['scoring']}]")
    if definition.get("case_sensitive"):
        meta.append("[case_sensitive:true]")
    lines = [f"// question: {number}"] + (["// " + " ".join(meta)] if meta else [])
    answers = _answer_lines(definition)
    if definition.get("explanation"):
        answers.append("####" + escape(definition["explanation"]))
    body = "".join("\n\t" + a for a in answers)
    lines.append(f"::Q{number}::[plain]{escape(definition['prompt'])}{{{body}\n}}")
    return "\n".join(lines)


def _weighted(right: bool, text: str) -> str:
    """An answer's text; one that starts with % gets an explicit weight first, so that it
    is not read as one (GIFT has no escape for %)."""
    if not text.startswith("%"):
        return escape(text)
    return ("%100%" if right else "%0%") + escape(text)


def _answer_lines(definition: dict[str, Any]) -> list[str]:
    qtype, key = definition["type"], definition["correct_answer"]
    if qtype == "single_choice":
        return [
            ("=" if o["id"] == key else "~") + _weighted(o["id"] == key, o["text"])
            for o in definition["options"]
        ]
    if qtype == "multiple_choice":
        right, wrong = share(len(key)), "-" + share(len(key))
        return [
            f"~%{right if o['id'] in key else wrong}%{escape(o['text'])}"
            for o in definition["options"]
        ]
    if qtype == "true_false":
        return ["TRUE" if key else "FALSE"]
    if qtype == "short_text":
        return ["=" + _weighted(True, answer) for answer in key]
    if qtype == "numeric":
        return [f"#{number_text(key)}:{number_text(definition['tolerance'] or 0)}"]
    return []  # essay
