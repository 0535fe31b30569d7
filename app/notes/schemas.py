from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.notes.models import NOTE_MAX_CHARS, TOPIC_MAX_CHARS
from app.schemas import StrictModel


class ClinicalNoteIn(StrictModel):
    text: Annotated[str, Field(min_length=1, max_length=NOTE_MAX_CHARS)]
    topic: Annotated[str | None, Field(min_length=1, max_length=TOPIC_MAX_CHARS)] = None
    entry_date: dt.date | None = None
    amends: uuid.UUID | None = Field(
        default=None, description="An earlier note of this patient that this one corrects"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "Reviewed diary: pain down 2 points since the plan started. "
                    "Continue backward walking 3x/week; review in 4 weeks.",
                    "topic": "review",
                    "entry_date": "2026-03-30",
                }
            ]
        },
    )


class ClinicalNoteOut(BaseModel):
    id: uuid.UUID
    clinician_id: uuid.UUID | None
    text: str
    topic: str | None
    entry_date: dt.date | None
    amends: uuid.UUID | None
    created_at: dt.datetime
