"""QTI 2.1 packages: items with one choiceInteraction, textEntryInteraction or
extendedTextInteraction; any other interaction is an error naming it."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, tostring

from shared.errors import PayloadTooLarge
from shared.interop.formats.common import (
    Item,
    ReadResult,
    child,
    children,
    choice_scoring,
    descendants,
    finish,
    html_to_text,
    local,
    note_media,
    parse_xml,
    points_of,
)
from shared.interop.formats.qti_package import Resource, open_package, read_member, resources
from shared.interop.formats.qti_write import write
from shared.question_types import to_decimal
from shared.spreadsheets.safety import UploadLimits

__all__ = ["read", "write"]
HELD = "choiceInteraction, textEntryInteraction and extendedTextInteraction"
NUMBER_TYPES = ("float", "integer")


def read(data: bytes, limits: UploadLimits) -> ReadResult:
    """Definitions from the items a QTI 2.1 package's manifest lists."""
    archive = open_package(data, limits)
    result = ReadResult()
    with archive:
        for resource in resources(archive):
            if resource.number > limits.max_rows:
                raise PayloadTooLarge(f"the package has more than {limits.max_rows} items")
            item = Item(resource.number, resource.identifier)
            if not resource.is_item:
                result.errors.append(item.error(f"{resource.kind} resources cannot be imported"))
                continue
            document = parse_xml(read_member(archive, resource.href), resource.href)
            _item(result, item, document, resource)
    if not result.definitions and not result.errors:
        result.errors.append(Item(None, None).error("the manifest lists no QTI items"))
    return result


def _item(result: ReadResult, item: Item, document: Element, resource: Resource) -> None:
    if local(document.tag) != "assessmentItem":
        result.errors.append(item.error("the file is not a QTI assessmentItem"))
        return
    item = Item(item.row, document.get("title") or item.name)
    body = child(document, "itemBody")
    interactions = [e for e in (body.iter() if body is not None else []) if _interaction(e)]
    if len(interactions) != 1:
        names = ", ".join(sorted({local(e.tag) for e in interactions})) or "none"
        result.errors.append(item.error(f"an item needs exactly one interaction (found: {names})"))
        return
    interaction = interactions[0]
    kind = local(interaction.tag)
    reader = READERS.get(kind)
    if reader is None:
        result.errors.append(item.error(f"{kind} items cannot be imported (we hold {HELD})"))
        return
    declaration = _declaration(document, interaction.get("responseIdentifier"))
    data = reader(result, item, document, interaction, declaration)
    if data is None:
        return
    markup = _prompt_markup(body, interaction)  # type: ignore[arg-type]
    note_media(result, item, markup)
    feedback = [html_to_text(_markup(f)) for f in children(document, "modalFeedback")]
    data.update(
        prompt=html_to_text(markup),
        explanation="\n".join(f for f in feedback if f) or None,
        tags=resource.keywords,
    )
    mapping = child(declaration, "mapping")
    upper = mapping.get("upperBound") if mapping is not None else None
    points = points_of(result, item, _default_value(document, "MAXSCORE") or upper)
    if points is not None:
        data["points"] = points
    finish(result, item, data, lambda field: field)


def _interaction(element: Element) -> bool:
    name = local(element.tag)
    return name.endswith("Interaction") and name != "Interaction"


def _declaration(document: Element, identifier: str | None) -> Element | None:
    for declaration in children(document, "responseDeclaration"):
        if declaration.get("identifier") == identifier:
            return declaration
    return None


def _default_value(document: Element, identifier: str) -> str | None:
    for declaration in children(document, "outcomeDeclaration"):
        if declaration.get("identifier") == identifier:
            value = child(child(declaration, "defaultValue"), "value")
            return value.text if value is not None else None
    return None


def _plain(element: Element) -> Element:
    """A copy without namespaces, so that its markup reads as HTML."""
    clone = copy.deepcopy(element)
    for node in clone.iter():
        node.tag = local(node.tag)
        node.attrib = {local(k): v for k, v in node.attrib.items()}
    return clone


def _markup(element: Element) -> str:
    """The inner markup of an element (its text and children, not its own tag)."""
    clone = _plain(element)
    inner = "".join(tostring(node, encoding="unicode") for node in clone)
    return _escape(clone.text or "") + inner


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _prompt_markup(body: Element, interaction: Element) -> str:
    """The item body without the interaction (an inline gap becomes _____), then the
    interaction's own prompt."""
    clone = _plain(body)
    target = next(node for node in clone.iter() if node.tag == local(interaction.tag))
    parents = {c: p for p in clone.iter() for c in p}
    parent = parents[target]
    inline = bool((target.tail or "").strip() or (parent.text or "").strip())
    gap = " _____ " if inline else ""
    index = list(parent).index(target)
    before = parent[index - 1] if index else None
    text = gap + (target.tail or "")
    if before is not None:
        before.tail = (before.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    parent.remove(target)
    prompt = child(target, "prompt")
    extra = "<p>" + _markup(prompt) + "</p>" if prompt is not None else ""
    return _markup(clone) + extra


def _values(element: Element | None) -> list[str]:
    if element is None:
        return []
    return [(v.text or "").strip() for v in children(element, "value")]


def _mapping(declaration: Element | None) -> list[tuple[str, Decimal, bool]]:
    """(key, mapped value, case sensitive) of each mapEntry."""
    mapping = child(declaration, "mapping")
    if mapping is None:
        return []
    return [
        (
            entry.get("mapKey", ""),
            to_decimal(entry.get("mappedValue", "0")) or Decimal(0),
            entry.get("caseSensitive", "true").lower() == "true",
        )
        for entry in children(mapping, "mapEntry")
    ]


def _choice(
    result: ReadResult,
    item: Item,
    document: Element,
    interaction: Element,
    declaration: Element | None,
) -> dict[str, Any] | None:
    choices = children(interaction, "simpleChoice")
    ids = {c.get("identifier", ""): chr(ord("A") + i) for i, c in enumerate(choices)}
    options = [
        {"id": ids[c.get("identifier", "")], "text": html_to_text(_markup(c))} for c in choices
    ]
    correct = _values(child(declaration, "correctResponse"))
    mapped = [(key, value) for key, value, _ in _mapping(declaration) if value > 0]
    if not correct:
        correct = [key for key, _ in mapped]
    cardinality = declaration.get("cardinality", "single") if declaration is not None else ""
    if cardinality == "single" and len(correct) > 1:
        result.errors.append(
            item.error("several correct responses: a single choice has one right answer")
        )
        return None
    if cardinality == "single":
        if {i.lower() for i in ids} == {"true", "false"} and len(correct) == 1:
            return {"type": "true_false", "correct_answer": correct[0].lower() == "true"}
        key = ids.get(correct[0]) if correct else None
        return {"type": "single_choice", "options": options, "correct_answer": key}
    weights = [value for key, value in mapped if key in correct]
    scoring, exact = choice_scoring(weights) if mapped else ("all_or_nothing", True)
    if not exact:
        result.warnings.append(
            item.error("unequal answer weights cannot be held: imported as all or nothing")
        )
    key = [ids.get(k, k) for k in correct]
    return {
        "type": "multiple_choice",
        "options": options,
        "correct_answer": key,
        "scoring": scoring,
    }


def _text_entry(
    result: ReadResult,
    item: Item,
    document: Element,
    interaction: Element,
    declaration: Element | None,
) -> dict[str, Any] | None:
    base = declaration.get("baseType", "string") if declaration is not None else "string"
    correct = _values(child(declaration, "correctResponse"))
    if base in NUMBER_TYPES:
        return _numeric(result, item, document, correct)
    entries = _mapping(declaration)
    best = max((value for _, value, _ in entries), default=Decimal(0))
    full = [(key, case) for key, value, case in entries if value == best and value > 0]
    if any(0 < value < best for _, value, _ in entries):
        result.warnings.append(item.error("answers with partial credit were left out"))
    accepted = list(dict.fromkeys(correct + [key for key, _ in full]))
    # A QTI string match is exact; a mapping says per entry whether case counts.
    case = all(case for _, case in full) if full else True
    return {"type": "short_text", "correct_answer": accepted, "case_sensitive": case}


def _numeric(
    result: ReadResult, item: Item, document: Element, correct: list[str]
) -> dict[str, Any] | None:
    if len(correct) != 1:
        result.errors.append(item.error("a numeric item needs exactly one correct value"))
        return None
    tolerance = None
    for equal in descendants(document, "equal"):
        mode = equal.get("toleranceMode", "exact")
        if mode == "relative":
            result.errors.append(item.error("a relative tolerance cannot be held"))
            return None
        if mode == "absolute":
            tolerance = to_decimal((equal.get("tolerance") or "0").split()[0])
    answer = to_decimal(correct[0])
    return {
        "type": "numeric",
        "correct_answer": answer if answer is not None else correct[0],
        "tolerance": tolerance,
    }


def _extended_text(
    result: ReadResult,
    item: Item,
    document: Element,
    interaction: Element,
    declaration: Element | None,
) -> dict[str, Any]:
    return {"type": "essay"}


READERS = {
    "choiceInteraction": _choice,
    "textEntryInteraction": _text_entry,
    "extendedTextInteraction": _extended_text,
}
