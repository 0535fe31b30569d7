"""Patients' profiles, care teams and invitations."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Uuid
from sqlmodel import Field, SQLModel

from app.models_base import between, in_list, instant, patient_fk

KNEES = ("left", "right")
SEXES = ("female", "male", "other", "unknown")


class Patient(SQLModel, table=True):
    """The patient profile; its id is the patient's user id."""

    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint(in_list("index_knee", KNEES), name="index_knee"),
        CheckConstraint(in_list("sex", SEXES), name="sex"),
        CheckConstraint(between("birth_year", 1900, 2100), name="birth_year"),
    )

    id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    timezone: str = Field(sa_column=Column(String(64), nullable=False))
    birth_year: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    sex: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    index_knee: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)


class CareTeamMember(SQLModel, table=True):
    """A clinician's access to a patient. Revocation keeps the row (with `revoked_at`) so the
    history of who had access stays; access checks only rows where it is null."""

    __tablename__ = "care_team_members"
    __table_args__ = (
        CheckConstraint(
            in_list("granted_via", ("grant", "invitation"), nullable=False), name="granted_via"
        ),
    )

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    clinician_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    granted_via: str = Field(sa_column=Column(String(16), nullable=False))
    granted_at: dt.datetime = instant(default_now=True)
    revoked_at: dt.datetime | None = instant(nullable=True)
    revoked_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))


class CareTeamRequest(SQLModel, table=True):
    """A patient's request that a clinician join their care team (SPEC §2 grant). It gives no
    access until the clinician accepts it (hardening finding 8: before, a grant added any
    clinician at once, without their consent). Decided requests are kept, with the decision."""

    __tablename__ = "care_team_requests"
    __table_args__ = (
        CheckConstraint(in_list("decision", ("accepted", "declined")), name="decision"),
    )

    patient_id: uuid.UUID = patient_fk(primary_key=True)
    clinician_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    requested_at: dt.datetime = instant(default_now=True)
    decided_at: dt.datetime | None = instant(nullable=True)
    decision: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))


class Invitation(SQLModel, table=True):
    __tablename__ = "invitations"

    code: str = Field(sa_column=Column(String(16), primary_key=True))
    clinician_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: dt.datetime = instant(default_now=True)
    expires_at: dt.datetime = instant()
    accepted_by: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("patients.id", ondelete="SET NULL"), nullable=True),
    )
    accepted_at: dt.datetime | None = instant(nullable=True)
