from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from app.schemas import IsoDate, StrictModel

TestName = Literal["chair_stand_30s", "tug", "fast_walk_40m", "stair_climb"]
_VALUE = (
    "chair_stand_30s: stands in 30 seconds (a whole number, 0–60); tug, fast_walk_40m, "
    "stair_climb: seconds (more than 0, at most 600)"
)
_PERFORMED_ON = "Local date of the test; not after today in the patient's time zone"


class FunctionTestIn(StrictModel):
    test: TestName
    performed_on: IsoDate = Field(description=_PERFORMED_ON)
    value: float = Field(ge=0, le=600, allow_inf_nan=False, description=_VALUE)
    supervised: bool | None = Field(default=None, description="Done with a clinician present")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "test": "chair_stand_30s",
                    "performed_on": "2026-03-02",
                    "value": 11,
                    "supervised": True,
                }
            ]
        },
    )


class FunctionTestOut(FunctionTestIn):
    # The input's example is not an answer (it lacks the server's fields): none inherited.
    model_config = ConfigDict(extra="ignore", json_schema_extra=None)
    range_checked: ClassVar[bool] = False

    performed_on: dt.date = Field(description=_PERFORMED_ON)
    value: float = Field(description=_VALUE)
    id: uuid.UUID
    unit: str = Field(description="`stands` or `seconds`")
    recorded_by: uuid.UUID | None = Field(description="Who recorded it (patient or clinician)")
    version: int
    etag: str
    created_at: dt.datetime
