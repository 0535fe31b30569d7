"""Clinical notes: a care-team clinician's record about a patient. Append-only: a note is never
changed or deleted through the API; a correction is a new note that `amends` the earlier one."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Column, Date, Index, String, Text, Uuid
from sqlmodel import Field, SQLModel

from app.models_base import instant, patient_fk, user_fk, uuid_pk

NOTE_MAX_CHARS = 4000
TOPIC_MAX_CHARS = 100


class ClinicalNote(SQLModel, table=True):
    __tablename__ = "clinical_notes"
    __table_args__ = (
        CheckConstraint(f"length(text) >= 1 AND length(text) <= {NOTE_MAX_CHARS}", name="text"),
        Index("ix_clinical_notes_patient_created", "patient_id", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk(index=False)
    # The author; kept as null if the clinician's account is removed (the note stays).
    clinician_id: uuid.UUID | None = user_fk()
    text: str = Field(sa_column=Column(Text, nullable=False))
    topic: str | None = Field(
        default=None, sa_column=Column(String(TOPIC_MAX_CHARS), nullable=True)
    )
    # The local date the note is about (e.g. a consultation); not after today for the patient.
    entry_date: dt.date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # An earlier note of the same patient that this one corrects or adds to.
    amends: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    created_at: dt.datetime = instant(default_now=True)
