"""Writing a QTI 2.1 package: one assessmentItem per question and a manifest listing them,
with tags as LOM keywords; the reader in qti.py reads it back to the same definitions."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from shared.interop.formats.common import number_text

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
LOM_NS = "http://ltsc.ieee.org/xsd/LOM"
TEMPLATES = "http://www.imsglobal.org/question/qti_v2p1/rptemplates/"
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def write(definitions: Iterable[dict[str, Any]]) -> bytes:
    """A QTI 2.1 content package (zip) of the questions."""
    manifest = Element("manifest", xmlns=CP_NS, identifier="MANIFEST-questions")
    metadata = SubElement(manifest, "metadata")
    SubElement(metadata, "schema").text = "QTIv2.1 Package"
    SubElement(metadata, "schemaversion").text = "1.0.0"
    SubElement(manifest, "organizations")
    listed = SubElement(manifest, "resources")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, definition in enumerate(definitions, start=1):
            identifier, href = f"item{number}", f"items/item{number}.xml"
            archive.writestr(href, _document(item_element(identifier, definition)))
            resource = SubElement(
                listed, "resource", identifier=identifier, type="imsqti_item_xmlv2p1", href=href
            )
            if definition["tags"]:
                _keywords(resource, definition["tags"])
            SubElement(resource, "file", href=href)
        archive.writestr("imsmanifest.xml", _document(manifest))
    return buffer.getvalue()


def _document(element: Element) -> bytes:
    indent(element)
    return XML_HEAD + tostring(element, encoding="utf-8") + b"\n"


def _keywords(resource: Element, tags: list[str]) -> None:
    lom = SubElement(SubElement(resource, "metadata"), "lom", xmlns=LOM_NS)
    general = SubElement(lom, "general")
    for tag in tags:
        SubElement(SubElement(general, "keyword"), "string").text = tag


def _lines(parent: Element, text: str) -> None:
    """Text as one paragraph with a <br/> per line break (read back line for line)."""
    paragraph = SubElement(parent, "p")
    lines = text.split("\n")
    paragraph.text = lines[0]
    for line in lines[1:]:
        SubElement(paragraph, "br").tail = line


def item_element(identifier: str, definition: dict[str, Any]) -> Element:
    """The assessmentItem of one question."""
    title = " ".join(definition["prompt"].split())[:60]
    item = Element(
        "assessmentItem",
        xmlns=QTI_NS,
        identifier=identifier,
        title=title,
        adaptive="false",
        timeDependent="false",
    )
    declaration = SubElement(item, "responseDeclaration", identifier="RESPONSE")
    _outcome(item, "SCORE", "0")
    _outcome(item, "MAXSCORE", number_text(definition["points"]))
    if definition.get("explanation"):  # declarations come before the body
        SubElement(
            item,
            "outcomeDeclaration",
            identifier="FEEDBACK",
            cardinality="single",
            baseType="identifier",
        )
    body = SubElement(item, "itemBody")
    _lines(body, definition["prompt"])
    WRITERS[definition["type"]](item, declaration, body, definition)
    if definition.get("explanation"):
        feedback = SubElement(
            item, "modalFeedback", outcomeIdentifier="FEEDBACK", identifier="GENERAL"
        )
        feedback.set("showHide", "show")
        _lines(feedback, definition["explanation"])
    return item


def _outcome(item: Element, identifier: str, value: str) -> None:
    outcome = SubElement(
        item, "outcomeDeclaration", identifier=identifier, cardinality="single", baseType="float"
    )
    SubElement(SubElement(outcome, "defaultValue"), "value").text = value


def _correct(declaration: Element, values: Iterable[str]) -> None:
    correct = SubElement(declaration, "correctResponse")
    for value in values:
        SubElement(correct, "value").text = value


def _processing(item: Element, template: str) -> None:
    SubElement(item, "responseProcessing", template=TEMPLATES + template)


def _choices(body: Element, options: list[dict[str, str]], max_choices: int) -> None:
    interaction = SubElement(
        body,
        "choiceInteraction",
        responseIdentifier="RESPONSE",
        shuffle="false",
        maxChoices=str(max_choices),
    )
    for option in options:
        SubElement(interaction, "simpleChoice", identifier=option["id"]).text = option["text"]


def _single(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="single", baseType="identifier")
    _correct(declaration, [d["correct_answer"]])
    _choices(body, d["options"], 1)
    _processing(item, "match_correct")


def _multiple(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="multiple", baseType="identifier")
    key = d["correct_answer"]
    _correct(declaration, key)
    if d["scoring"] == "partial":
        points = Decimal(str(d["points"]))
        mapping = SubElement(
            declaration,
            "mapping",
            lowerBound="0",
            upperBound=number_text(points),
            defaultValue="0",
        )
        share = f"{points / len(key):.4f}"
        for option in d["options"]:
            value = share if option["id"] in key else "-" + share
            SubElement(mapping, "mapEntry", mapKey=option["id"], mappedValue=value)
    _choices(body, d["options"], 0)
    _processing(item, "map_response" if d["scoring"] == "partial" else "match_correct")


def _true_false(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="single", baseType="identifier")
    _correct(declaration, ["true" if d["correct_answer"] else "false"])
    options = [{"id": "true", "text": "True"}, {"id": "false", "text": "False"}]
    _choices(body, options, 1)
    _processing(item, "match_correct")


def _short_text(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="single", baseType="string")
    _correct(declaration, d["correct_answer"][:1])
    mapping = SubElement(declaration, "mapping", defaultValue="0")
    case = "true" if d["case_sensitive"] else "false"
    for accepted in d["correct_answer"]:
        SubElement(
            mapping,
            "mapEntry",
            mapKey=accepted,
            mappedValue=number_text(d["points"]),
            caseSensitive=case,
        )
    gap = SubElement(body, "p")
    SubElement(gap, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength="20")
    _processing(item, "map_response")


def _numeric(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="single", baseType="float")
    _correct(declaration, [number_text(d["correct_answer"])])
    gap = SubElement(body, "p")
    SubElement(gap, "textEntryInteraction", responseIdentifier="RESPONSE", expectedLength="10")
    tolerance = number_text(d["tolerance"] or 0)
    processing = SubElement(item, "responseProcessing")
    condition = SubElement(SubElement(processing, "responseCondition"), "responseIf")
    equal = SubElement(condition, "equal", toleranceMode="absolute")
    equal.set("tolerance", f"{tolerance} {tolerance}")
    SubElement(equal, "variable", identifier="RESPONSE")
    SubElement(equal, "correct", identifier="RESPONSE")
    score = SubElement(condition, "setOutcomeValue", identifier="SCORE")
    SubElement(score, "variable", identifier="MAXSCORE")


def _essay(item: Element, declaration: Element, body: Element, d: dict[str, Any]) -> None:
    declaration.attrib.update(cardinality="single", baseType="string")
    SubElement(body, "extendedTextInteraction", responseIdentifier="RESPONSE", expectedLines="10")


WRITERS = {
    "single_choice": _single,
    "multiple_choice": _multiple,
    "true_false": _true_false,
    "short_text": _short_text,
    "numeric": _numeric,
    "essay": _essay,
}
