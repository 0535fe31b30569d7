"""Completed questionnaires (KOOS-JR, KOOS) with their scores, computed when stored."""

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
    String,
)
from sqlmodel import Field, SQLModel

from app.models_base import between, in_list, instant, patient_fk, uuid_pk

INSTRUMENTS = ("koos_jr", "koos", "pgic", "pass")


class QuestionnaireResponse(SQLModel, table=True):
    __tablename__ = "questionnaire_responses"
    __table_args__ = (
        CheckConstraint(in_list("instrument", INSTRUMENTS, nullable=False), name="instrument"),
        CheckConstraint(between("score", 0, 100), name="score"),
        Index("ix_questionnaire_responses_patient_completed", "patient_id", "completed_on"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk(index=False)
    instrument: str = Field(sa_column=Column(String(16), nullable=False))
    completed_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # KOOS-JR: the 0–100 interval score (100 = no knee problems); PGIC 1–7; PASS 1/0.
    score: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    # KOOS: {"pain": .., "symptoms": .., "adl": .., "sport_rec": .., "qol": ..}; null = invalid
    subscales: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: dt.datetime = instant(default_now=True)
