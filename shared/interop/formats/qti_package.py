"""A QTI 2.1 content package read safely: zip limits (size, ratio, entries), no unsafe
paths, and only the item files its imsmanifest.xml lists."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from shared.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from shared.interop.formats.common import child, descendants, parse_xml
from shared.spreadsheets.safety import MAX_ZIP_ENTRIES, UploadLimits

MANIFEST = "imsmanifest.xml"
ITEM_TYPE = re.compile(r"^imsqti_item_xmlv2p\d$")
# Deflate reaches about 1000:1 on runs of one byte; real XML and images stay far below 100:1.
MAX_RATIO = 100
RATIO_CHECK_FROM = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Resource:
    """An item the manifest lists: its identifier, its file and its keywords."""

    number: int
    identifier: str
    href: str
    keywords: list[str]
    kind: str

    @property
    def is_item(self) -> bool:
        """A QTI 2.x item (other QTI versions are refused by name)."""
        return bool(ITEM_TYPE.match(self.kind))


def unsafe(name: str) -> bool:
    """Whether an archive path could point outside the package (absolute, drive, ..)."""
    if not name or name.startswith(("/", "\\")) or "\\" in name or _DRIVE.match(name):
        return True
    return ".." in name.split("/") or "://" in name


def open_package(data: bytes, limits: UploadLimits) -> zipfile.ZipFile:
    """The package's zip, after the size, ratio, entry count and path checks."""
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(f"the file is larger than {limits.max_bytes // 1024} KiB")
    if not data.startswith(b"PK\x03\x04"):
        raise UnsupportedMediaType("not a QTI 2.1 package (a .zip with imsmanifest.xml)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except Exception:  # BadZipFile, and NotImplementedError, ValueError... on a corrupt one
        raise UnsupportedMediaType("not a QTI 2.1 package (a .zip with imsmanifest.xml)") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise InvalidInput(f"the package has more than {MAX_ZIP_ENTRIES} files")
    if sum(entry.file_size for entry in entries) > limits.max_uncompressed_bytes:
        mib = limits.max_uncompressed_bytes // (1024 * 1024)
        raise PayloadTooLarge(f"the package expands to more than {mib} MiB")
    for entry in entries:
        if unsafe(entry.filename):
            raise InvalidInput(f"the package holds an unsafe path: {entry.filename!r}")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_CHECK_FROM and ratio > MAX_RATIO:
            raise PayloadTooLarge(
                f"{entry.filename!r} expands {int(ratio)} times: refused as a zip bomb"
            )
    if MANIFEST not in {entry.filename for entry in entries}:
        raise InvalidInput(f"no {MANIFEST} at the top of the package: not a QTI 2.1 package")
    return archive


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One file of the package (its size was checked with the whole package)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise InvalidInput(f"the manifest lists {name!r}, which the package lacks") from None
    try:
        with archive.open(info) as member:
            return member.read(info.file_size + 1)
    except Exception as exc:  # zipfile and zlib raise many kinds; all mean "corrupt"
        raise InvalidInput(f"{name!r} could not be read: {exc.__class__.__name__}") from None


def resources(archive: zipfile.ZipFile) -> Iterator[Resource]:
    """Each QTI item resource the manifest lists, in its order."""
    manifest = parse_xml(read_member(archive, MANIFEST), MANIFEST)
    number = 0
    for resource in descendants(manifest, "resource"):
        kind = resource.get("type", "")
        if not kind.startswith("imsqti_") or kind.startswith(("imsqti_test", "imsqti_section")):
            continue  # web content (images), tests and sections: not questions
        number += 1
        href = resource.get("href", "")
        if ITEM_TYPE.match(kind) and unsafe(href):
            raise InvalidInput(f"the manifest points outside the package: {href!r}")
        identifier = resource.get("identifier") or href
        path = posixpath.normpath(href) if href else ""
        yield Resource(number, identifier, path, _keywords(resource), kind)


def _keywords(resource: Element) -> list[str]:
    """The LOM keywords of a resource's metadata (our tags)."""
    metadata = child(resource, "metadata")
    if metadata is None:
        return []
    words = []
    for keyword in descendants(metadata, "keyword"):
        for string in descendants(keyword, "string"):
            if string.text and string.text.strip():
                words.append(string.text.strip())
    return words
