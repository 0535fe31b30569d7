"""The stored flag state (SPEC v2 §5): episodes, their reviews, and per patient the numbers
the clinician's panel sorts and shows. Written by `app.trends.state` only (and the review)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant, patient_fk, user_fk, uuid_pk

SEVERITIES = ("info", "warning", "urgent")
STATUSES = ("open", "reviewed", "resolved")


def _date(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(Date, nullable=nullable))


def _float() -> Any:
    return Field(default=None, sa_column=Column(Float, nullable=True))


class FlagEpisode(SQLModel, table=True):
    """One episode of one rule (and knee, for knee rules: `key`)."""

    __tablename__ = "flag_episodes"
    __table_args__ = (
        CheckConstraint(in_list("severity", SEVERITIES, nullable=False), name="severity"),
        CheckConstraint(in_list("status", STATUSES, nullable=False), name="status"),
        Index("ix_flag_episodes_patient_last", "patient_id", "last_date"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk(index=False)
    rule: str = Field(sa_column=Column(String(32), nullable=False))
    key: str = Field(default="", sa_column=Column(String(32), nullable=False))
    severity: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(sa_column=Column(String(8), nullable=False))
    first_date: dt.date = _date()
    last_date: dt.date = _date()
    dates: list[str] = Field(sa_column=Column(JSON, nullable=False))
    criteria: list[str] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    reviewed_by: uuid.UUID | None = user_fk()
    reviewed_at: dt.datetime | None = instant(nullable=True)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_through: dt.date | None = _date(nullable=True)


class FlagReview(SQLModel, table=True):
    """Every review, kept (the episode carries the latest)."""

    __tablename__ = "flag_reviews"

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk()
    episode_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    reviewed_by: uuid.UUID | None = user_fk()
    reviewed_at: dt.datetime = instant()
    note: str = Field(sa_column=Column(Text, nullable=False))
    through_date: dt.date = _date()


class PatientState(SQLModel, table=True):
    """What the panel reads of a patient, as of `as_of` (their local date when computed);
    `refresh_after` is when their local date next changes, when the worker computes it anew."""

    __tablename__ = "patient_states"

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    as_of: dt.date = _date()
    refresh_after: dt.datetime = instant(index=True)
    last_entry_date: dt.date | None = _date(nullable=True)
    pain_mean_7d: float | None = _float()
    pain_change_28d: float | None = _float()
    pain_slope_per_week: float | None = _float()
    adherence_4w: float | None = _float()
    open_urgent: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    open_warning: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    open_info: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    flags: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    error: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    updated_at: dt.datetime = instant(default_now=True)
