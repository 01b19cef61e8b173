"""The item analysis as a workbook: a summary, a row per question, a row per option."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from shared.spreadsheets.safety import escape_cell

SUMMARY = ("attempts", "mean", "median", "stdev", "reliability", "reliability_items")
QUESTION_COLUMNS = (
    "position", "question_id", "type", "prompt", "max_points", "attempts", "pending", "omitted",
    "mean_points", "facility", "discrimination", "point_biserial",
)  # fmt: skip
OPTION_COLUMNS = ("position", "question_id", "option", "text", "correct", "chosen")


def to_xlsx(analysis: dict[str, Any]) -> bytes:
    """Three sheets (Summary, Questions, Options); every text cell escaped."""
    workbook = Workbook(write_only=True)
    _sheet(workbook, "Summary", ("statistic", "value"), ([k, analysis[k]] for k in SUMMARY))
    _sheet(
        workbook,
        "Histogram",
        ("from_percent", "to_percent", "count"),
        ([b["from_percent"], b["to_percent"], b["count"]] for b in analysis["histogram"]),
    )
    questions = analysis["questions"]
    _sheet(
        workbook,
        "Questions",
        QUESTION_COLUMNS,
        ([q[c] for c in QUESTION_COLUMNS] for q in questions),
    )
    options = (
        [q["position"], q["question_id"], o["id"], o["text"], o["correct"], o["chosen"]]
        for q in questions
        for o in q["options"]
    )
    _sheet(workbook, "Options", OPTION_COLUMNS, options)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet(workbook: Workbook, title: str, header: tuple[str, ...], rows: Any) -> None:
    sheet = workbook.create_sheet(title)
    sheet.append(list(header))
    for row in rows:
        sheet.append([escape_cell(cell) for cell in row])
