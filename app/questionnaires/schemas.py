from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from app.schemas import StrictModel

Instrument = Literal["koos_jr", "koos", "pgic", "pass"]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=32)]
# 0–4 for KOOS and KOOS-JR items, 1–7 for the PGIC, 0/1 for the PASS (checked per instrument).
ItemScore = Annotated[StrictInt, Field(ge=0, le=7)]


class QuestionnaireIn(StrictModel):
    instrument: Instrument
    completed_on: dt.date = Field(
        description="Local date it was completed; not after today in the patient's time zone"
    )
    answers: dict[ItemId, ItemScore] = Field(
        min_length=1,
        max_length=64,
        description="Item id -> item score. KOOS-JR and KOOS: 0–4 (0 = no problems); KOOS-JR "
        "needs all 7 items, KOOS items may be left out (a subscale needs half of its items "
        "answered). PGIC: `change` 1–7 (1 = very much improved, 4 = no change, 7 = very much "
        "worse). PASS: `acceptable` 1 (yes) or 0 (no).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "instrument": "koos_jr",
                    "completed_on": "2026-03-02",
                    "answers": {
                        "stiffness": 2,
                        "pain_twisting": 2,
                        "pain_straightening": 1,
                        "pain_stairs": 3,
                        "pain_standing": 1,
                        "difficulty_rising": 2,
                        "difficulty_bending": 2,
                    },
                },
                {"instrument": "pgic", "completed_on": "2026-04-13", "answers": {"change": 2}},
                {"instrument": "pass", "completed_on": "2026-04-13", "answers": {"acceptable": 1}},
            ]
        },
    )


class SubscaleItemsOut(BaseModel):
    answered: int
    total: int
    minimum: int = Field(description="Answered items needed for the subscale to be scored")


class QuestionnaireOut(BaseModel):
    id: uuid.UUID
    instrument: Instrument
    completed_on: dt.date
    answers: dict[str, int]
    score: float | None = Field(
        description="KOOS-JR interval score 0–100 (100 = no knee problems); PGIC: the answer "
        "1–7; PASS: 1 (acceptable) or 0; null for KOOS"
    )
    raw_score: int | None = Field(description="KOOS-JR raw sum 0–28; null for KOOS")
    subscales: dict[str, float | None] | None = Field(
        description="KOOS: pain, symptoms, adl, sport_rec, qol, each 0–100 (100 = no "
        "problems), null when fewer than half of its items were answered; null for KOOS-JR"
    )
    subscale_items: dict[str, SubscaleItemsOut] | None = Field(
        description="KOOS: per subscale, items answered, in all, and needed; null for KOOS-JR"
    )
    created_at: dt.datetime
