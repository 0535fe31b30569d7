"""What the benchmark's load, seed and ceilings share: the diary body and its row form."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from psycopg.types.json import Json

from app.diary.entries import entry_columns
from app.diary.schemas import SymptomEntryIn

# The body every diary write sends: the API's own documented example (both knees, notes,
# 300 bytes of JSON), for the product, the ceilings and the sync batches alike.
DIARY_BODY: dict[str, Any] = SymptomEntryIn.model_json_schema()["examples"][0]

# Columns of symptom_entries that a write fills, in one fixed order (the ceilings' INSERT/COPY).
ENTRY_VALUE_COLUMNS: tuple[str, ...] = tuple(
    entry_columns(SymptomEntryIn.model_validate(DIARY_BODY)).keys()
)
INSERT_COLUMNS: tuple[str, ...] = (
    "id",
    "patient_id",
    "entry_date",
    "version",
    *ENTRY_VALUE_COLUMNS,
    "recorded_at",
    "created_at",
    "updated_at",
)


def _json(value: Any) -> Any:
    return Json(value) if isinstance(value, list | dict) else value


def entry_row(
    patient_id: uuid.UUID, entry_date: dt.date, body: SymptomEntryIn, now: dt.datetime
) -> tuple[Any, ...]:
    """A new symptom_entries row, in INSERT_COLUMNS order."""
    values = entry_columns(body)
    recorded = (body.recorded_at or now).astimezone(dt.UTC)
    return (
        uuid.uuid4(),
        patient_id,
        entry_date,
        1,
        # JSON columns (the analgesic kinds) as JSON, not as a SQL array
        *(_json(values[c]) for c in ENTRY_VALUE_COLUMNS),
        recorded,
        now,
        now,
    )
