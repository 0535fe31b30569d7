"""The versioned-record tables: the changes feed (one row per write to a patient's record,
in commit order) and the revisions (every replaced or deleted version, as the API showed it)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant, patient_fk, uuid_pk

OPS = ("upsert", "delete")
REVISION_KINDS = (
    "symptom_entry",
    "exercise_session",
    "exercise_plan",
    "treatment",
    "function_test",
)


class Change(SQLModel, table=True):
    """Append-only. `seq` is allocated while the writer holds the patient's lock
    (`records.locks.lock_patient`), so for one patient it grows in commit order. `data` is the
    record as the API showed it at this version (null for a deletion)."""

    __tablename__ = "changes"
    __table_args__ = (
        CheckConstraint(in_list("op", OPS, nullable=False), name="op"),
        Index("ix_changes_patient_seq", "patient_id", "seq"),
        # SQLite: AUTOINCREMENT never hands out an id again, even that of a deleted last row.
        {"sqlite_autoincrement": True},
    )

    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    patient_id: uuid.UUID = patient_fk(index=False)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    record_key: str = Field(sa_column=Column(String(64), nullable=False))
    op: str = Field(sa_column=Column(String(8), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    changed_at: dt.datetime = instant()


class Revision(SQLModel, table=True):
    """An earlier version of a diary entry, exercise session or exercise plan, kept when it was
    replaced or deleted. `payload` is the version as the API showed it."""

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint(in_list("kind", REVISION_KINDS, nullable=False), name="kind"),
        CheckConstraint(in_list("reason", ("replaced", "deleted"), nullable=False), name="reason"),
        Index("ix_revisions_patient_kind_key", "patient_id", "kind", "record_key", "version"),
    )

    id: uuid.UUID = uuid_pk()
    patient_id: uuid.UUID = patient_fk(index=False)
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    record_key: str = Field(sa_column=Column(String(64), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    reason: str = Field(sa_column=Column(String(16), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    superseded_at: dt.datetime = instant(default_now=True)
    superseded_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))


class StateQueue(SQLModel, table=True):
    """Patients whose derived state (flag episodes, panel numbers: `app.trends.state`) is
    behind their record. A write that changes what the flag rules read enqueues the earliest
    local date it touches, in its own transaction (`records.changes.record_changes`); the
    state worker recomputes from that date and removes the row, in one transaction."""

    __tablename__ = "state_queue"

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    from_date: dt.date = Field(sa_column=Column(Date, nullable=False))
    queued_at: dt.datetime = instant(index=True)
