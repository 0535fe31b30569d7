"""The append-only access record."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    SmallInteger,
    String,
    Uuid,
)
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant

ACTIONS = ("read", "write", "export")
OUTCOMES = ("allowed", "denied", "failed")
VIAS = ("token", "api_key")


class AuditEvent(SQLModel, table=True):
    """Who did what to which patient's record, when, from where, and how it ended.

    `patient_id` and `actor_id` are plain values, not foreign keys: the record must outlive
    an erased account. It holds route templates, never raw paths, queries or bodies, so no
    health value can reach it. The database refuses UPDATE and DELETE (see the migration)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(in_list("action", ACTIONS, nullable=False), name="action"),
        CheckConstraint(in_list("outcome", OUTCOMES, nullable=False), name="outcome"),
        CheckConstraint(in_list("via", VIAS, nullable=False), name="via"),
        Index("ix_audit_events_patient_id_id", "patient_id", "id"),
        Index("ix_audit_events_actor_id_id", "actor_id", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    at: dt.datetime = instant(default_now=True, index=True)
    actor_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False))
    actor_role: str = Field(sa_column=Column(String(16), nullable=False))
    via: str = Field(sa_column=Column(String(8), nullable=False))
    api_key_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    patient_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    action: str = Field(sa_column=Column(String(8), nullable=False))
    resource: str = Field(sa_column=Column(String(200), nullable=False))
    outcome: str = Field(sa_column=Column(String(8), nullable=False))
    status: int = Field(sa_column=Column(SmallInteger, nullable=False))
    client_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # The client behind a trusted proxy (X-Forwarded-For), kept apart from the peer address.
    forwarded_ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    user_agent: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    request_id: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
