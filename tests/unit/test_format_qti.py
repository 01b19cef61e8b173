"""QTI 2.1 packages: reading the IMS examples, refusing unsafe zips, writing and reading back."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from shared.interop.formats import qti
from shared.interop.formats.qti_package import unsafe
from shared.spreadsheets.safety import UploadLimits
from tests.unit.format_cases import ALL_TYPES, FIXTURES, LIMITS, fixture


def test_the_ims_examples_map_onto_our_types():
    result = qti.read(fixture("qti_supported"), LIMITS)
    assert result.errors == []
    luggage, water, boils, richard, division, postcard = result.definitions
    assert luggage["type"] == "single_choice" and luggage["correct_answer"] == "A"
    assert luggage["prompt"] == "Look at the text in the picture.\nWhat does it say?"
    assert luggage["tags"] == ["travel"]  # the manifest's LOM keyword
    assert (water["correct_answer"], water["scoring"], water["points"]) == (
        ["A", "D"], "partial", 2,
    )  # fmt: skip
    assert [o["text"] for o in water["options"]][:2] == ["Hydrogen", "Helium"]
    assert boils["type"] == "true_false" and boils["correct_answer"] is True
    assert richard["type"] == "short_text" and richard["correct_answer"] == ["York"]
    assert richard["case_sensitive"] is True
    assert "sun of _____ ;" in richard["prompt"]
    assert (division["correct_answer"], division["tolerance"]) == (3.14, Decimal("0.01"))
    assert division["points"] == Decimal("1.5")
    assert postcard["type"] == "essay"
    assert postcard["explanation"] == "Mention the weather and what you did."


def test_media_and_lost_partial_credit_are_reported():
    result = qti.read(fixture("qti_supported"), LIMITS)
    notes = [(w.row, w.message) for w in result.warnings]
    assert (
        1,
        "refers to a file that is not imported (../images/sign.png); only text is kept",
    ) in notes
    assert (4, "answers with partial credit were left out") in notes
    assert any(row == 6 and "postcard.png" in message for row, message in notes)


def test_interactions_we_cannot_hold_are_errors_naming_them():
    result = qti.read(fixture("qti_unsupported"), LIMITS)
    assert len(result.definitions) == 1
    assert [(e.row, e.message.split()[0]) for e in result.errors] == [
        (2, "matchInteraction"),
        (3, "orderInteraction"),
        (4, "inlineChoiceInteraction"),
        (5, "imsqti_xmlv1p2"),
    ]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("zip_bomb.zip", PayloadTooLarge, "expands to more than 60 MiB"),
        ("zip_ratio_bomb.zip", PayloadTooLarge, "zip bomb"),
        ("path_traversal.zip", InvalidInput, "unsafe path"),
        ("absolute_path.zip", InvalidInput, "unsafe path"),
        ("manifest_traversal.zip", InvalidInput, "points outside the package"),
        ("qti_external_entity.zip", InvalidInput, "declares a DTD or entities"),
    ],
)
def test_hostile_packages_are_refused(name, error, message):
    with pytest.raises(error, match=message):
        qti.read(fixture(name), LIMITS)


def test_a_package_needs_its_manifest_and_a_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("item.xml", "<assessmentItem/>")
    with pytest.raises(InvalidInput, match="imsmanifest.xml"):
        qti.read(buffer.getvalue(), LIMITS)
    with pytest.raises(UnsupportedMediaType):
        qti.read(b"not a zip at all", LIMITS)


def test_too_many_files_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(1001):
            archive.writestr(f"f{number}.txt", "")
    with pytest.raises(InvalidInput, match="more than 1000 files"):
        qti.read(buffer.getvalue(), LIMITS)


def test_a_package_over_the_upload_limit_is_refused():
    small = UploadLimits(max_bytes=1024, max_uncompressed_bytes=1 << 20, max_rows=10)
    with pytest.raises(PayloadTooLarge):
        qti.read(fixture("qti_supported"), small)


@pytest.mark.parametrize(
    "name", ["../x.xml", "a/../../x.xml", "/etc/passwd", "C:/x.xml", "a\\..\\x", "http://h/x"]
)
def test_unsafe_paths(name):
    assert unsafe(name)


def test_every_type_round_trips():
    result = qti.read(qti.write(ALL_TYPES), LIMITS)
    assert result.errors == [] and result.warnings == []
    assert result.definitions == ALL_TYPES


def test_the_export_is_a_content_package():
    archive = zipfile.ZipFile(io.BytesIO(qti.write(ALL_TYPES[:1])))
    assert sorted(archive.namelist()) == ["imsmanifest.xml", "items/item1.xml"]
    manifest = archive.read("imsmanifest.xml").decode()
    assert 'type="imsqti_item_xmlv2p1"' in manifest and "<string>geography</string>" in manifest
    item = archive.read("items/item1.xml").decode()
    assert 'xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1"' in item
    assert "rptemplates/match_correct" in item


def test_a_single_choice_with_two_correct_values_cannot_be_held():
    item = (FIXTURES / "qti_unsupported" / "held.xml").read_text()
    item = item.replace("<value>A</value>", "<value>A</value><value>B</value>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((FIXTURES / "qti_unsupported").iterdir()):
            archive.writestr(path.name, item if path.name == "held.xml" else path.read_text())
    result = qti.read(buffer.getvalue(), LIMITS)
    assert "several correct responses" in result.errors[0].message
    assert result.errors[0].row == 1
