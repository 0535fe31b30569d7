from __future__ import annotations

import datetime as dt
import uuid
from operator import attrgetter
from typing import ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from app.diary.vocabulary import KNEE_MEASURES, Activity, AnalgesicKind, RomMethod, Setting
from app.schemas import IsoDateTime, StrictModel, not_null

_read_measures = attrgetter(*KNEE_MEASURES)


class Knee(StrictModel):
    pain: int | None = Field(default=None, ge=0, le=10, description="NRS 0–10")
    stiffness: int | None = Field(default=None, ge=0, le=10, description="NRS 0–10")
    swelling: int | None = Field(
        default=None, ge=0, le=3, description="0 none, 1 mild, 2 moderate, 3 severe"
    )
    warmth: bool | None = None
    giving_way: bool | None = None
    flexion_degrees: int | None = Field(default=None, ge=0, le=170)
    extension_degrees: int | None = Field(
        default=None,
        ge=-20,
        le=60,
        description="0 = fully straight, positive = short of straight, negative = hyperextension",
    )
    rom_method: RomMethod | None = None
    night_pain: int | None = Field(default=None, ge=0, le=10, description="Pain at night, NRS 0–10")
    locking: bool | None = Field(default=None, description="The knee locked (caught) that day")

    def has_measure(self) -> bool:
        values = _read_measures(self)
        return values.count(None) < len(values)


class Knees(StrictModel):
    left: Knee | None = None
    right: Knee | None = None


class Analgesics(StrictModel):
    """Pain medicine taken that day: improvement bought with more analgesia is not
    improvement, so trends show `analgesic_doses` beside pain."""

    doses: int = Field(ge=0, le=20, description="Doses taken that day (0–20)")
    kinds: list[AnalgesicKind] = Field(
        default_factory=list,
        max_length=5,
        description="Which kinds (each at most once)",
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("kinds")
    @classmethod
    def _unique(cls, kinds: list[str]) -> list[str]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind at most once")
        return kinds


class SymptomEntryIn(StrictModel):
    knees: Knees
    morning_stiffness_minutes: int | None = Field(default=None, ge=0, le=1440)
    flare: bool | None = None
    falls: int | None = Field(
        default=None, ge=0, le=20, description="Falls in daily life that day (not in exercise)"
    )
    analgesics: Analgesics | None = None
    notes: str | None = Field(default=None, max_length=2000)
    recorded_at: IsoDateTime | None = Field(
        default=None, description="When it was recorded (RFC 3339 with offset); default: now"
    )

    @field_validator("knees")
    @classmethod
    def _one_measure(cls, knees: Knees) -> Knees:
        if not any(k is not None and k.has_measure() for k in (knees.left, knees.right)):
            raise ValueError("at least one knee with at least one measure is required")
        return knees

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "knees": {
                        "left": {
                            "pain": 4,
                            "stiffness": 3,
                            "swelling": 1,
                            "warmth": False,
                            "giving_way": False,
                            "flexion_degrees": 115,
                            "extension_degrees": 5,
                            "rom_method": "goniometer",
                        },
                        "right": {"pain": 1, "night_pain": 2, "locking": False},
                    },
                    "morning_stiffness_minutes": 20,
                    "flare": False,
                    "falls": 0,
                    "analgesics": {"doses": 2, "kinds": ["paracetamol"]},
                    "notes": "Stairs were hard today",
                    "recorded_at": "2026-03-02T21:15:00+00:00",
                }
            ]
        },
    )


class SymptomEntryOut(BaseModel):
    entry_date: dt.date
    knees: Knees
    morning_stiffness_minutes: int | None = None
    flare: bool | None = None
    falls: int | None = None
    analgesics: Analgesics | None = None
    notes: str | None = None
    recorded_at: dt.datetime
    version: int
    etag: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ExerciseItem(StrictModel):
    name: str = Field(min_length=1, max_length=100)
    sets: int | None = Field(default=None, ge=1, le=100)
    reps: int | None = Field(default=None, ge=1, le=1000)


class ExerciseSessionIn(StrictModel):
    activity: Activity
    started_at: IsoDateTime = Field(
        description="RFC 3339 with offset; its local date is the session's date"
    )
    duration_minutes: int = Field(ge=1, le=600)
    distance_m: float | None = Field(default=None, ge=0, le=100_000, allow_inf_nan=False)
    steps: int | None = Field(default=None, ge=0, le=200_000)
    rpe: float | None = Field(
        default=None,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="Borg CR10 rating of perceived exertion",
    )
    pain_before: int | None = Field(default=None, ge=0, le=10)
    pain_after: int | None = Field(default=None, ge=0, le=10)
    setting: Setting | None = None
    supervised: bool | None = None
    falls: int | None = Field(default=None, ge=0, le=100)
    near_falls: int | None = Field(default=None, ge=0, le=100)
    plan_id: uuid.UUID | None = None
    exercises: list[ExerciseItem] | None = Field(default=None, max_length=50)
    notes: str | None = Field(default=None, max_length=2000)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "activity": "backward_walking",
                    "started_at": "2026-03-02T10:00:00+01:00",
                    "duration_minutes": 15,
                    "distance_m": 400,
                    "steps": 900,
                    "rpe": 3,
                    "pain_before": 4,
                    "pain_after": 3,
                    "setting": "indoor",
                    "supervised": True,
                    "falls": 0,
                    "near_falls": 0,
                }
            ]
        },
    )


class ExerciseSessionOut(ExerciseSessionIn):
    # The input's example is not an answer (it lacks the server's fields): none inherited.
    model_config = ConfigDict(extra="ignore", json_schema_extra=None)
    range_checked: ClassVar[bool] = False

    started_at: dt.datetime = Field(
        description="RFC 3339 with offset; its local date is the session's date"
    )

    id: uuid.UUID
    local_date: dt.date
    version: int
    etag: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ExercisePlanFields(StrictModel):
    activity: Activity
    minutes_per_session: int = Field(ge=1, le=600, description="Prescribed minutes per session")
    sessions_per_week: int = Field(ge=1, le=21, description="Prescribed sessions per ISO week")
    start_date: dt.date
    end_date: dt.date | None = Field(default=None, description="Last day of the plan, inclusive")
    instructions: str | None = Field(default=None, max_length=4000)


class ExercisePlanIn(ExercisePlanFields):
    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start_date")
        if end is not None and start is not None and end < start:
            raise ValueError("end_date is before start_date")
        return end

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "activity": "backward_walking",
                    "minutes_per_session": 15,
                    "sessions_per_week": 3,
                    "start_date": "2026-03-02",
                    "end_date": "2026-05-24",
                    "instructions": "Walk backwards slowly indoors, near a wall or rail.",
                }
            ]
        },
    )


class ExercisePlanPatch(StrictModel):
    """Only the fields sent change; `end_date` and `instructions` may be set to null."""

    activity: Activity | None = None
    minutes_per_session: int | None = Field(default=None, ge=1, le=600)
    sessions_per_week: int | None = Field(default=None, ge=1, le=21)
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    instructions: str | None = Field(default=None, max_length=4000)

    _not_null = field_validator(
        "activity", "minutes_per_session", "sessions_per_week", "start_date"
    )(not_null)

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sessions_per_week": 4, "end_date": "2026-06-30"}]},
    )


class ExercisePlanOut(ExercisePlanFields):
    model_config = ConfigDict(extra="ignore")
    range_checked: ClassVar[bool] = False

    id: uuid.UUID
    clinician_id: uuid.UUID | None = Field(description="The clinician who prescribed the plan")
    version: int
    etag: str
    created_at: dt.datetime
    updated_at: dt.datetime
