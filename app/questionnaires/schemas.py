from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from app.questionnaires.scoring import (
    ITEM_MAX,
    ITEM_MIN,
    KOOS_JR_ITEMS,
    KOOS_SUBSCALES,
    SINGLE_ITEM,
)
from app.schemas import COMPONENT, StrictModel, json_number

Instrument = Literal["koos_jr", "koos", "pgic", "pass"]
ItemId = Annotated[str, StringConstraints(min_length=1, max_length=32)]
# 0–4 for KOOS and KOOS-JR items, 1–7 for the PGIC, 0/1 for the PASS (checked per instrument).
# A JSON number only (never "2" or true), integral: 2.0 is an integer in JSON Schema, so it is
# taken as 2, as everywhere else in the API (app/schemas.py, StrictModel).
ItemScore = Annotated[int, Field(ge=0, le=7), BeforeValidator(json_number)]


EXAMPLES: list[dict[str, Any]] = [
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


def _answers(items: dict[str, tuple[int, int]], required: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "properties": {
            item: {"type": "integer", "minimum": low, "maximum": high}
            for item, (low, high) in items.items()
        },
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(items)
    return schema


def _per_instrument(schema: dict[str, Any]) -> None:
    """State in the OpenAPI document which answers each instrument takes (the server checks
    them in app/questionnaires/scoring.py, which this reads): one `oneOf` branch per
    instrument, so that a client or a generator knows the item ids and their ranges."""
    koos_jr = {item: (ITEM_MIN, ITEM_MAX) for item in KOOS_JR_ITEMS}
    koos = {item: (ITEM_MIN, ITEM_MAX) for items in KOOS_SUBSCALES.values() for item in items}
    branches = [
        ("koos_jr", _answers(koos_jr, required=True)),
        ("koos", _answers(koos, required=False)),
    ]
    for instrument, (item, low, high) in SINGLE_ITEM.items():
        branches.append((instrument, _answers({item: (low, high)}, required=True)))
    schema["examples"] = EXAMPLES
    # Each branch's answers become a named component (app/openapi.py lifts schemas marked
    # with COMPONENT): client generators make one class per instrument's answers.
    titles = {"koos_jr": "KoosJr", "koos": "Koos", "pgic": "Pgic", "pass": "Pass"}
    schema["oneOf"] = [
        {
            "properties": {
                "instrument": {"const": name},
                "answers": {COMPONENT: f"{titles[name]}Answers", **answers},
            },
            "required": ["instrument", "answers"],
        }
        for name, answers in branches
    ]


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

    model_config = ConfigDict(json_schema_extra=lambda schema, _cls: _per_instrument(schema))


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
