"""The format registry: picking a format by name or file name, and every format's round trip."""

from __future__ import annotations

import pytest

from shared.errors import UnsupportedMediaType
from shared.interop.formats.common import html_to_text, media_in
from shared.interop.formats.registry import FORMAT_NAMES, FORMATS, format_for
from tests.unit.format_cases import ALL_TYPES, LIMITS


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("bank.xlsx", "xlsx"),
        ("bank.GIFT", "gift"),
        ("bank.txt", "gift"),
        ("quiz.xml", "moodle_xml"),
        ("package.zip", "qti"),
        ("no-extension", "xlsx"),  # read as .xlsx, whose reader explains the 415
        (None, "xlsx"),
    ],
)
def test_the_format_comes_from_the_file_name(filename, name):
    assert format_for(None, filename).name == name


def test_a_named_format_wins_over_the_file_name():
    assert format_for("gift", "bank.xml").name == "gift"
    with pytest.raises(UnsupportedMediaType):
        format_for("csv", "bank.csv")


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_export_then_import_gives_back_every_question(name):
    chosen = FORMATS[name]
    result = chosen.read(chosen.write(ALL_TYPES), LIMITS)
    assert result.errors == []
    assert result.definitions == ALL_TYPES


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p>a<br>b</p><p>c</p>", "a\nb\nc"),
        ("<p>a</p>\n\n<p>b</p>", "a\nb"),
        ("<p>a<br><br>b</p>", "a\n\nb"),
        ('<p onclick="x()">hi <script>alert(1)</script><style>p{}</style></p>', "hi"),
        ('<a href="javascript:alert(1)">link</a> &amp; &lt;b&gt;', "link & <b>"),
        ("<p>  spaced\n   out  </p>", "spaced out"),
    ],
)
def test_html_becomes_text_without_scripts(markup, text):
    assert html_to_text(markup) == text


def test_media_references_are_found():
    markup = '<img src="@@PLUGINFILE@@/a b.png"><object data="clip.mp4"></object>'
    assert media_in(markup) == ["a b.png", "clip.mp4"]
    assert media_in("see @@PLUGINFILE@@/notes.pdf") == ["@@PLUGINFILE@@"]
