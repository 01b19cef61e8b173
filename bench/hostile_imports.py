"""Time and peak memory to refuse hostile spreadsheets (docs/reliability.md).

    .venv/bin/python bench/hostile_imports.py

Prints a table and writes bench/results/hostile_imports.json.
"""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl

from shared.errors import DomainError
from shared.spreadsheets.questions import parse_questions
from shared.spreadsheets.safety import UploadLimits, open_workbook, sheet_rows

LIMITS = UploadLimits(
    max_bytes=5 * 1024 * 1024, max_uncompressed_bytes=60 * 1024 * 1024, max_rows=10_000
)


def rows_sheet(count: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Questions")
    sheet.append(["type", "prompt", "correct_answer"])
    for n in range(count):
        sheet.append(["true_false", f"q{n}", True])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (1024 * 1024 * 1024))
    return buffer.getvalue()


def entity_bomb() -> bytes:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE x [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&e9;</t></is></c></row></sheetData></worksheet>'
    )
    original = zipfile.ZipFile(io.BytesIO(rows_sheet(1)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in original.infolist():
            archive.writestr(
                item, sheet if item.filename.endswith("sheet1.xml") else original.read(item)
            )
    return buffer.getvalue()


def _import(data: bytes) -> str:
    try:
        workbook = open_workbook(data, LIMITS)
        parse_questions(sheet_rows(workbook.worksheets[0], LIMITS.max_rows))
        return "accepted"
    except DomainError as exc:
        return f"{exc.__class__.__name__}: {exc.message}"


def refuse(data: bytes) -> tuple[str, float, float]:
    """Outcome, seconds (a plain run) and peak MiB (a second run under tracemalloc, which
    slows Python down, so it is not timed)."""
    began = time.perf_counter()
    outcome = _import(data)
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    _import(data)
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return outcome, elapsed, peak


def main() -> None:
    cases = {
        "100,000-row sheet": rows_sheet(100_000),
        "zip bomb (1 GiB of zeros)": zip_bomb(),
        "XML entity expansion (10^9)": entity_bomb(),
    }
    results = []
    print(f"{'input':32} {'size':>9} {'outcome':60} {'seconds':>8} {'peak MiB':>9}")
    for name, data in cases.items():
        outcome, elapsed, peak = refuse(data)
        results.append(
            {
                "input": name,
                "bytes": len(data),
                "outcome": outcome,
                "seconds": round(elapsed, 3),
                "peak_mib": round(peak, 1),
            }
        )
        print(f"{name:32} {len(data):>9} {outcome[:60]:60} {elapsed:>8.2f} {peak:>9.1f}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "hostile_imports.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
