from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from app.schemas import IsoDate, StrictModel, not_null

TreatmentKind = Literal[
    "steroid_injection",
    "hyaluronic_injection",
    "prp_injection",
    "genicular_artery_embolisation",
    "arthroscopy",
    "arthroplasty",
    "other",
]
TreatmentKnee = Literal["left", "right", "both"]
_DATE = "The day it was done (local date); not after today in the patient's time zone"


class TreatmentIn(StrictModel):
    kind: TreatmentKind
    knee: TreatmentKnee
    date: IsoDate = Field(description=_DATE)
    notes: str | None = Field(default=None, max_length=2000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "genicular_artery_embolisation",
                    "knee": "left",
                    "date": "2026-03-02",
                    "notes": "Superior and inferior medial genicular arteries",
                }
            ]
        },
    )


class TreatmentPatch(StrictModel):
    """Only the fields sent change; `notes` may be set to null."""

    # `SkipJsonSchema[None]`: optional in a PATCH, but null is not a value (the validator).
    kind: TreatmentKind | SkipJsonSchema[None] = None
    knee: TreatmentKnee | SkipJsonSchema[None] = None
    date: IsoDate | SkipJsonSchema[None] = Field(default=None, description=_DATE)
    notes: str | None = Field(default=None, max_length=2000)

    _not_null = field_validator("kind", "knee", "date")(not_null)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"date": "2026-03-03", "notes": "Right knee too"}]},
    )


class TreatmentOut(TreatmentIn):
    # The input's example is not an answer (it lacks the server's fields): none inherited.
    model_config = ConfigDict(extra="ignore", json_schema_extra=None)
    range_checked: ClassVar[bool] = False

    date: dt.date = Field(description=_DATE)
    id: uuid.UUID
    recorded_by: uuid.UUID | None = Field(description="Who recorded it (patient or clinician)")
    version: int
    etag: str
    created_at: dt.datetime
    updated_at: dt.datetime
