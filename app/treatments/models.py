"""Treatments a patient received for a knee: injections, genicular artery embolisation,
surgery. Versioned like diary records: a change or a deletion keeps the earlier version as a
revision (kind `treatment`), and a deleted treatment stays as a tombstone."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import get_args

from sqlalchemy import CheckConstraint, Column, Date, Index, Integer, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant, patient_fk, user_fk
from app.treatments.schemas import TreatmentKind, TreatmentKnee

TREATMENT_KINDS: tuple[str, ...] = get_args(TreatmentKind)
TREATMENT_KNEES: tuple[str, ...] = get_args(TreatmentKnee)


class Treatment(SQLModel, table=True):
    __tablename__ = "treatments"
    __table_args__ = (
        CheckConstraint(in_list("kind", TREATMENT_KINDS, nullable=False), name="kind"),
        CheckConstraint(in_list("knee", TREATMENT_KNEES, nullable=False), name="knee"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_treatments_patient_date", "patient_id", "date"),
    )

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    id: uuid.UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    knee: str = Field(sa_column=Column(String(8), nullable=False))
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Who recorded it: the patient or a clinician on the care team.
    recorded_by: uuid.UUID | None = user_fk()
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)
    deleted_at: dt.datetime | None = instant(nullable=True)
