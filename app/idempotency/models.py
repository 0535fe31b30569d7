"""Stored answers to POSTs made with an `Idempotency-Key`."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlmodel import Field, SQLModel

from app.models_base import instant


class IdempotencyKey(SQLModel, table=True):
    """One row per (scope, key): the fingerprint of the request that first used the key and the
    answer it got. Written in the same transaction as the request's own rows, so a key never
    exists without its effect nor an effect without its key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    # The caller's user id, or "anonymous" for sign-up (where the body fingerprint, which
    # includes the password, is what binds a replay to its caller).
    scope: str = Field(sa_column=Column(String(64), primary_key=True))
    key: str = Field(sa_column=Column(String(255), primary_key=True))
    # The account the stored answer belongs to: erasing the account erases its stored answers.
    user_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    # The patient whose record the request wrote (routes with `{pid}`): the stored answer holds
    # their health data, so erasing the patient erases it, whoever's key it was (a clinician's
    # key on a note or plan, too).
    patient_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid(), ForeignKey("patients.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    fingerprint: str = Field(sa_column=Column(String(64), nullable=False))
    status_code: int = Field(sa_column=Column(Integer, nullable=False))
    headers: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: dt.datetime = instant()
    expires_at: dt.datetime = instant()
