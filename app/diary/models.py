"""Daily symptom entries, exercise sessions and the revisions that keep their history."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlmodel import Field, SQLModel

from app.diary.vocabulary import ACTIVITIES, ROM_METHODS, SETTINGS
from app.models_base import between, in_list, instant, patient_fk, user_fk, uuid_pk


def _knee_checks(side: str) -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(between(f"{side}_pain", 0, 10), name=f"{side}_pain"),
        CheckConstraint(between(f"{side}_stiffness", 0, 10), name=f"{side}_stiffness"),
        CheckConstraint(between(f"{side}_swelling", 0, 3), name=f"{side}_swelling"),
        CheckConstraint(between(f"{side}_flexion", 0, 170), name=f"{side}_flexion"),
        CheckConstraint(between(f"{side}_extension", -20, 60), name=f"{side}_extension"),
        CheckConstraint(in_list(f"{side}_rom_method", ROM_METHODS), name=f"{side}_rom_method"),
        CheckConstraint(between(f"{side}_night_pain", 0, 10), name=f"{side}_night_pain"),
    )


def _int(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(Integer, nullable=nullable))


def _bool() -> Any:
    return Field(default=None, sa_column=Column(Boolean, nullable=True))


def _method() -> Any:
    return Field(default=None, sa_column=Column(String(16), nullable=True))


class SymptomEntry(SQLModel, table=True):
    """One row per patient and local calendar date; a deleted entry keeps its row with
    `deleted_at` set (a tombstone) so its version keeps counting up if it is written again."""

    __tablename__ = "symptom_entries"
    __table_args__ = (
        UniqueConstraint("patient_id", "entry_date"),
        CheckConstraint(
            between("morning_stiffness_minutes", 0, 1440), name="morning_stiffness_minutes"
        ),
        CheckConstraint(between("falls", 0, 20), name="falls"),
        CheckConstraint(between("analgesic_doses", 0, 20), name="analgesic_doses"),
        CheckConstraint("version >= 1", name="version"),
        *_knee_checks("left"),
        *_knee_checks("right"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk()
    entry_date: dt.date = Field(sa_column=Column(Date, nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    left_pain: int | None = _int()
    left_stiffness: int | None = _int()
    left_swelling: int | None = _int()
    left_warmth: bool | None = _bool()
    left_giving_way: bool | None = _bool()
    left_flexion: int | None = _int()
    left_extension: int | None = _int()
    left_rom_method: str | None = _method()
    left_night_pain: int | None = _int()
    left_locking: bool | None = _bool()
    right_pain: int | None = _int()
    right_stiffness: int | None = _int()
    right_swelling: int | None = _int()
    right_warmth: bool | None = _bool()
    right_giving_way: bool | None = _bool()
    right_flexion: int | None = _int()
    right_extension: int | None = _int()
    right_rom_method: str | None = _method()
    right_night_pain: int | None = _int()
    right_locking: bool | None = _bool()
    morning_stiffness_minutes: int | None = _int()
    flare: bool | None = _bool()
    # Falls in daily life that day (falls during exercise are the session's).
    falls: int | None = _int()
    # `analgesics`: doses taken that day and their kinds (a JSON list of ANALGESIC_KINDS);
    # both null when the entry says nothing about analgesics.
    analgesic_doses: int | None = _int()
    analgesic_kinds: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_at: dt.datetime = instant()
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)
    deleted_at: dt.datetime | None = instant(nullable=True)


class ExerciseSession(SQLModel, table=True):
    __tablename__ = "exercise_sessions"
    __table_args__ = (
        CheckConstraint(in_list("activity", ACTIVITIES, nullable=False), name="activity"),
        CheckConstraint(
            between("duration_minutes", 1, 600, nullable=False), name="duration_minutes"
        ),
        CheckConstraint(between("rpe", 0, 10), name="rpe"),
        CheckConstraint(between("pain_before", 0, 10), name="pain_before"),
        CheckConstraint(between("pain_after", 0, 10), name="pain_after"),
        CheckConstraint(in_list("setting", SETTINGS), name="setting"),
        CheckConstraint("falls IS NULL OR falls >= 0", name="falls"),
        CheckConstraint("near_falls IS NULL OR near_falls >= 0", name="near_falls"),
        CheckConstraint("distance_m IS NULL OR distance_m >= 0", name="distance_m"),
        CheckConstraint("steps IS NULL OR steps >= 0", name="steps"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_exercise_sessions_patient_local_date", "patient_id", "local_date"),
    )

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    id: uuid.UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    activity: str = Field(sa_column=Column(String(32), nullable=False))
    started_at: dt.datetime = instant()
    # The offset the client gave with `started_at`, so the session keeps its local date.
    utc_offset_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    local_date: dt.date = Field(sa_column=Column(Date, nullable=False))
    duration_minutes: int = Field(sa_column=Column(Integer, nullable=False))
    distance_m: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    steps: int | None = _int()
    rpe: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    pain_before: int | None = _int()
    pain_after: int | None = _int()
    setting: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    supervised: bool | None = _bool()
    falls: int | None = _int()
    near_falls: int | None = _int()
    plan_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    exercises: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)
    deleted_at: dt.datetime | None = instant(nullable=True)


class ExercisePlan(SQLModel, table=True):
    """A clinician's prescription: `sessions_per_week` sessions of `activity`, each of
    `minutes_per_session` minutes, from `start_date` (to `end_date`, if set)."""

    __tablename__ = "exercise_plans"
    __table_args__ = (
        CheckConstraint(in_list("activity", ACTIVITIES, nullable=False), name="activity"),
        CheckConstraint(
            between("minutes_per_session", 1, 600, nullable=False), name="minutes_per_session"
        ),
        CheckConstraint(
            between("sessions_per_week", 1, 21, nullable=False), name="sessions_per_week"
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_exercise_plans_patient_start", "patient_id", "start_date"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk(index=False)
    clinician_id: uuid.UUID | None = user_fk()
    activity: str = Field(sa_column=Column(String(32), nullable=False))
    minutes_per_session: int = Field(sa_column=Column(Integer, nullable=False))
    sessions_per_week: int = Field(sa_column=Column(Integer, nullable=False))
    start_date: dt.date = Field(sa_column=Column(Date, nullable=False))
    end_date: dt.date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    instructions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)
