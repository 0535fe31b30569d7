"""Performance-based function tests: the OARSI recommended set (Dobson F et al. Osteoarthritis
Cartilage 2013;21(8):1042-1052: 30-s chair stand, 40 m fast-paced walk, stair climb) and the
Timed Up and Go. A deleted test stays as a tombstone and its last version as a revision (kind
`function_test`)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant, patient_fk, user_fk

FUNCTION_TESTS = ("chair_stand_30s", "tug", "fast_walk_40m", "stair_climb")
TIMED_TESTS = ("tug", "fast_walk_40m", "stair_climb")
# Limits of a possible result: a 30-s chair stand is a count of 0–60 stands; a timed test
# takes more than 0 and at most 600 seconds (beyond that the test was not completed).
CHAIR_STAND_MAX = 60
SECONDS_MAX = 600


class FunctionTest(SQLModel, table=True):
    __tablename__ = "function_tests"
    __table_args__ = (
        CheckConstraint(in_list("test", FUNCTION_TESTS, nullable=False), name="test"),
        CheckConstraint(
            f"(test = 'chair_stand_30s' AND value >= 0 AND value <= {CHAIR_STAND_MAX}) OR "
            f"(test <> 'chair_stand_30s' AND value > 0 AND value <= {SECONDS_MAX})",
            name="value",
        ),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_function_tests_patient_performed", "patient_id", "performed_on"),
    )

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    id: uuid.UUID = Field(sa_column=Column(Uuid(), primary_key=True))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    test: str = Field(sa_column=Column(String(32), nullable=False))
    performed_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    value: float = Field(sa_column=Column(Float, nullable=False))
    supervised: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    recorded_by: uuid.UUID | None = user_fk()
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)
    deleted_at: dt.datetime | None = instant(nullable=True)
