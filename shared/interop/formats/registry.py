"""The one registry of question bank formats: name, file extensions, media type, reader and
writer; the import and export routes pick a format here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared.errors import UnsupportedMediaType
from shared.interop.formats import gift, moodle_xml, qti, xlsx
from shared.interop.formats.common import ReadResult
from shared.spreadsheets.safety import UploadLimits

Reader = Callable[[bytes, UploadLimits], ReadResult]
Writer = Callable[[Iterable[dict[str, Any]]], bytes]


@dataclass(frozen=True)
class Format:
    name: str
    extensions: tuple[str, ...]
    content_type: str
    read: Reader
    write: Writer

    @property
    def filename(self) -> str:
        """The name an export is downloaded under."""
        return "questions" + self.extensions[0]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "xlsx",
            (".xlsx",),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx.read,
            xlsx.write,
        ),
        Format("gift", (".gift", ".txt"), "text/plain", gift.read, gift.write),
        Format("moodle_xml", (".xml",), "application/xml", moodle_xml.read, moodle_xml.write),
        Format("qti", (".zip",), "application/zip", qti.read, qti.write),
    )
}
FORMAT_NAMES = tuple(FORMATS)


def get_format(name: str) -> Format:
    """The format of that name."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnsupportedMediaType(f"unknown format {name!r}") from None


def format_for(name: str | None, filename: str | None) -> Format:
    """The format asked for, or else the one the file name's extension says; a name that
    says none is read as .xlsx (as the import always did, so its 415 explains)."""
    if name:
        return get_format(name)
    lowered = (filename or "").lower()
    for candidate in FORMATS.values():
        if lowered.endswith(candidate.extensions):
            return candidate
    return FORMATS["xlsx"]
