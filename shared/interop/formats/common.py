"""What every format reader shares: the report shape, HTML to safe text, media notes, guarded
XML parsing and the mapping of weighted answers onto our choice scoring."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import nh3
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from shared.errors import InvalidInput
from shared.question_types import MAX_TAG, normalize_definition, to_decimal
from shared.spreadsheets.questions import CellError

# Prompts, options and explanations are stored and shown as text (the client writes them
# with textContent), so HTML becomes text: tags go, their words stay, scripts and styles go
# with their content (nh3), entities are decoded.
_SPACE = re.compile(r"\s+")
_BR = re.compile(r"<\s*br\s*/?\s*>", re.I)
_BLOCK_END = re.compile(r"<\s*/\s*(p|div|li|tr|h[1-6]|blockquote|pre)\s*>", re.I)
_BLOCK = "\ue0ff"  # a private-use mark for "a block ended here" while nh3 cleans
_BLOCKS = re.compile(f"{_BLOCK}[\\s{_BLOCK}]*")  # starts with the mark: linear time
_MEDIA = re.compile(r"<\s*(img|object|embed|video|audio|source|iframe)\b([^>]*)>?", re.I)
_SOURCE = re.compile(r"""\b(?:src|data|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
PLUGINFILE = "@@PLUGINFILE@@"


@dataclass
class ReadResult:
    """A reader's outcome: definitions, errors naming the item, and notes on what was lost."""

    definitions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    warnings: list[CellError] = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    """Where a question sits in its file: its number (GIFT: its line) and its name."""

    row: int | None
    name: str | None

    def error(self, message: str) -> CellError:
        """A report entry about this item."""
        return CellError(self.row, self.name, message)


def html_to_text(markup: str | None) -> str:
    """Safe plain text of an HTML fragment: block ends and <br> become line breaks."""
    if not markup:
        return ""
    flat = _SPACE.sub(" ", markup)
    marked = _BLOCK_END.sub(_BLOCK, _BR.sub("\n", flat.replace(_BLOCK, "")))
    # Consecutive block ends (empty paragraphs, nested divs) are one line break; only
    # <br>s make blank lines.
    text = _BLOCKS.sub("\n", html.unescape(nh3.clean(marked, tags=set())))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return "\n".join(lines).strip("\n")  # inner blank lines stay: they part paragraphs


def media_in(markup: str | None) -> list[str]:
    """The files an HTML fragment refers to (images, objects, Moodle's @@PLUGINFILE@@)."""
    if not markup:
        return []
    found = []
    for match in _MEDIA.finditer(markup):
        source = _SOURCE.search(match.group(2))
        named = source and next(g for g in source.groups() if g is not None)
        found.append(named or match.group(1))
    if PLUGINFILE in markup and not found:
        found.append(PLUGINFILE)
    return [name.replace(PLUGINFILE + "/", "") for name in found]


def note_media(result: ReadResult, item: Item, *markups: str | None) -> None:
    """A warning for each file a prompt refers to: media are not imported."""
    for markup in markups:
        for name in media_in(markup):
            result.warnings.append(
                item.error(f"refers to a file that is not imported ({name}); only text is kept")
            )


def category_tag(path: str) -> str | None:
    """The last part of a Moodle category path as a tag: not Moodle's own levels (`top`,
    `$course$`, `Default for …`), nor a name too long to be a tag."""
    parts = [p.strip() for p in path.strip().split("/") if p.strip()]
    last = parts[-1] if parts else ""
    if last.startswith(("$", "Default for")) or last == "top" or len(last) > MAX_TAG:
        return None
    return last or None


def parse_xml(data: bytes, what: str) -> Element:
    """An XML document parsed without DTDs, entities or external references."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise InvalidInput(
            f"the {what} declares a DTD or entities, which are refused for safety"
        ) from None
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: an unknown encoding
        raise InvalidInput(f"the {what} is not well-formed XML: {exc}") from None


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def children(element: Element, name: str) -> list[Element]:
    """Direct children with that local name, whatever their namespace."""
    return [child for child in element if local(child.tag) == name]


def child(element: Element | None, name: str) -> Element | None:
    """The first direct child with that local name."""
    if element is None:
        return None
    found = children(element, name)
    return found[0] if found else None


def descendants(element: Element, name: str) -> list[Element]:
    """Every element below with that local name."""
    return [e for e in element.iter() if local(e.tag) == name and e is not element]


def finish(
    result: ReadResult, item: Item, data: dict[str, Any], field_name: Callable[[str], str]
) -> None:
    """Validate a definition; each problem becomes an error naming the item and the field."""
    try:
        result.definitions.append(normalize_definition(data))
    except InvalidInput as exc:
        for name, messages in exc.errors.items():
            result.errors.extend(item.error(f"{field_name(name)}: {m}") for m in messages)


def choice_scoring(weights: list[Decimal]) -> tuple[str, bool]:
    """Scoring of a multiple choice from the positive weights of its correct options, and
    whether that scoring is exact: equal shares are our partial scoring, unequal ones cannot
    be held and become all-or-nothing. Moodle adds up the weights, as partial does."""
    if not weights:
        return "all_or_nothing", True
    equal = max(weights) - min(weights) <= Decimal("0.01") * max(weights)
    return ("partial", True) if equal else ("all_or_nothing", False)


def share(count: int, total: int = 100) -> str:
    """One of `count` equal shares of `total` with Moodle's five decimals (33.33333)."""
    value = Decimal(total) / Decimal(count)
    return f"{value:.5f}".rstrip("0").rstrip(".")


def points_of(result: ReadResult, item: Item, value: str | None) -> Decimal | None:
    """A file's points (Moodle writes 1.0000000) with at most the 2 decimals we keep."""
    number = to_decimal(value) if value is not None and value.strip() else None
    if number is None:
        return None
    rounded = number.quantize(Decimal("0.01"))
    if rounded != number:
        result.warnings.append(item.error(f"points {value} rounded to {rounded}"))
    return (
        rounded.to_integral_value()
        if rounded == rounded.to_integral_value()
        else rounded.normalize()
    )


def number_text(value: Any) -> str:
    """A stored number as the shortest exact text (2, 1.5, 0.01)."""
    number = Decimal(str(value))
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")
