"""Shared by the format tests: the fixture folder, limits, a zip of a fixture folder, and
questions of every type to round-trip."""

from __future__ import annotations

import io
import pathlib
import zipfile
from decimal import Decimal
from typing import Any

from shared.question_types import normalize_definition
from shared.spreadsheets.safety import UploadLimits

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "interop"
LIMITS = UploadLimits(max_bytes=5 << 20, max_uncompressed_bytes=60 << 20, max_rows=10_000)


def fixture(name: str) -> bytes:
    """The bytes of a fixture file, or of a fixture folder zipped (a QTI package)."""
    path = FIXTURES / name
    if not path.is_dir():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


RAW_QUESTIONS: list[dict[str, Any]] = [
    {
        "type": "single_choice",
        "prompt": "What is the capital of France?\nPick one.",
        "options": ["Lyon", "Paris", "Nice & Marseille"],
        "correct_answer": "B",
        "points": 2,
        "tags": ["geography", "europe"],
        "explanation": "Paris has been the capital since 987.",
    },
    {
        "type": "multiple_choice",
        "prompt": "Which of these are prime numbers?",
        "options": ["2", "4", "7"],
        "correct_answer": ["A", "C"],
        "scoring": "partial",
        "points": Decimal("1.5"),
    },
    {
        "type": "multiple_choice",
        "prompt": "Which are rivers of France? (all or nothing)",
        "options": ["Seine", "Rhine", "Loire", "Thames"],
        "correct_answer": ["A", "C"],
        "tags": ["geography"],
    },
    {
        "type": "multiple_choice",
        "prompt": "One correct option, partial scoring",
        "options": ["yes", "no"],
        "correct_answer": ["A"],
        "scoring": "partial",
    },
    {"type": "true_false", "prompt": "Water boils at 100 °C at sea level.", "correct_answer": True},
    {"type": "true_false", "prompt": "The Sun orbits the Earth.", "correct_answer": False},
    {
        "type": "short_text",
        "prompt": "Name the largest planet.",
        "correct_answer": ["Jupiter", "planet Jupiter"],
        "tags": ["astronomy"],
    },
    {
        "type": "short_text",
        "prompt": "The chemical symbol of sodium (case matters)",
        "correct_answer": ["Na", "%Na -> x"],
        "case_sensitive": True,
    },
    {
        "type": "numeric",
        "prompt": "What is 22 divided by 7, to two decimals?",
        "correct_answer": Decimal("3.14"),
        "tolerance": Decimal("0.01"),
        "points": Decimal("0.5"),
    },
    {"type": "numeric", "prompt": "Absolute zero in °C?", "correct_answer": -273},
    {
        "type": "essay",
        "prompt": "Explain photosynthesis in your own words.\n\nUse two paragraphs.",
        "points": 5,
        "explanation": "Light, water and CO2 become sugar and oxygen.",
    },
    {
        "type": "single_choice",
        "prompt": "Characters GIFT and XML treat specially: ~ = # { } : \\ < > & ' \"",
        "options": ["{braces}", "a=b~c#d:e", "<b>not bold</b> &amp;", "%50% -> not a weight"],
        "correct_answer": "C",
        "explanation": "Kept as text: <script> is just words here.",
    },
]
ALL_TYPES = [normalize_definition(raw) for raw in RAW_QUESTIONS]
