"""The CSV export, streamed row by row.

Spreadsheet formula injection (OWASP "CSV Injection"): a *text* cell that begins with `=`,
`+`, `-`, `@`, a tab or a carriage return is prefixed with a single quote, so a spreadsheet
shows it as text instead of running it. Beyond OWASP's list, since spreadsheets trim or
normalise what comes first: a cell that begins with any control character (LF too), or whose
first character after leading spaces, NBSP and other blank or invisible characters is a
trigger, including its full-width or small forms (`＝`, `＋`, `－`, `＠`, `﹦`: every character
whose NFKC form is a trigger), is prefixed too. Numbers are written as numbers and never prefixed:
they come from typed columns (never from user text), so an extension of −5 stays the number
-5, which a spreadsheet reads as a value, not a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from app.diary.vocabulary import KNEE_FIELDS
from app.exports.queries import knee_values

TRIGGERS = ("=", "+", "-", "@")
FORMULA_STARTS = (*TRIGGERS, "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"

SYMPTOM_HEADER = (
    "date",
    "knee",
    *KNEE_FIELDS,
    "morning_stiffness_minutes",
    "flare",
    "falls",
    "analgesic_doses",
    "analgesic_kinds",
    "notes",
    "recorded_at",
)
EXERCISE_HEADER = (
    "id",
    "date",
    "started_at",
    "activity",
    "duration_minutes",
    "distance_m",
    "steps",
    "rpe",
    "pain_before",
    "pain_after",
    "setting",
    "supervised",
    "falls",
    "near_falls",
    "plan_id",
    "exercises",
    "notes",
)

TREATMENT_HEADER = ("id", "date", "kind", "knee", "notes", "recorded_by")
FUNCTION_TEST_HEADER = ("id", "date", "test", "value", "unit", "supervised")


# Characters a spreadsheet may skip before reading a formula: Unicode spaces (NBSP, U+3000 …),
# line and paragraph separators, and invisible format characters (zero-width space, BOM …).
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf"})


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in _BLANK_CATEGORIES


def _formula_like(text: str) -> bool:
    if not text:
        return False
    if text.startswith(FORMULA_STARTS) or unicodedata.category(text[0]) == "Cc":
        return True
    first = next((c for c in text if not _blank(c)), "")
    return bool(first) and unicodedata.normalize("NFKC", first).startswith(TRIGGERS)


def neutralise(text: str) -> str:
    return "'" + text if _formula_like(text) else text


def cell(value: Any) -> str | int | float:
    """One cell: numbers as numbers, booleans as true/false, dates ISO 8601, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return neutralise(str(value))


def symptom_rows(row: Any) -> Iterator[Sequence[Any]]:
    """One row per knee with data; the day's own fields repeat on each knee's row so that every
    row stands alone when filtered."""
    for side in ("left", "right"):
        knee = list(knee_values(row, side).values())
        if all(v is None for v in knee):
            continue
        yield (
            row.entry_date,
            side,
            *knee,
            row.morning_stiffness_minutes,
            row.flare,
            row.falls,
            row.analgesic_doses,
            " ".join(row.analgesic_kinds) if row.analgesic_kinds else None,
            row.notes,
            row.recorded_at,
        )


def exercise_rows(row: Any) -> Iterator[Sequence[Any]]:
    offset = dt.timezone(dt.timedelta(minutes=row.utc_offset_minutes))
    yield (
        row.id,
        row.local_date,
        row.started_at.astimezone(offset),
        row.activity,
        row.duration_minutes,
        row.distance_m,
        row.steps,
        row.rpe,
        row.pain_before,
        row.pain_after,
        row.setting,
        row.supervised,
        row.falls,
        row.near_falls,
        row.plan_id,
        describe_exercises(row.exercises),
        row.notes,
    )


def treatment_rows(row: Any) -> Iterator[Sequence[Any]]:
    yield (row.id, row.date, row.kind, row.knee, row.notes, row.recorded_by)


def function_test_rows(row: Any) -> Iterator[Sequence[Any]]:
    unit = "stands" if row.test == "chair_stand_30s" else "seconds"
    value = int(row.value) if row.test == "chair_stand_30s" else row.value
    yield (row.id, row.performed_on, row.test, value, unit, row.supervised)


def describe_exercises(items: list[dict[str, Any]] | None) -> str | None:
    """`[{name, sets, reps}]` as text: "Squats 3x10; Bridges 2x12"."""
    if not items:
        return None
    parts = []
    for item in items:
        sets, reps = item.get("sets"), item.get("reps")
        dose = f" {sets or '?'}x{reps or '?'}" if sets or reps else ""
        parts.append(f"{item.get('name', '')}{dose}")
    return "; ".join(parts)


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, rows_per_chunk: int = 200
) -> Iterator[str]:
    """The CSV text in chunks of a few hundred rows (RFC 4180, CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for n, r in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in r])
        if n % rows_per_chunk == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
