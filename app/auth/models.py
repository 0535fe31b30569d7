"""Accounts and sessions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Uuid
from sqlmodel import Field, SQLModel

from app.models_base import in_list, instant, uuid_pk

ROLES = ("patient", "clinician", "admin")


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(in_list("role", ROLES, nullable=False), name="role"),)

    id: uuid.UUID = uuid_pk()
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    display_name: str = Field(sa_column=Column(String(120), nullable=False))
    created_at: dt.datetime = instant(default_now=True)
    updated_at: dt.datetime = instant(default_now=True)


class RefreshToken(SQLModel, table=True):
    """A rotating refresh token. All tokens issued from one sign-in share a `family_id`;
    presenting a spent token revokes the whole family (RFC 9700 §4.14.2)."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    family_id: uuid.UUID = Field(sa_column=Column(Uuid(), nullable=False, index=True))
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: dt.datetime = instant(default_now=True)
    expires_at: dt.datetime = instant()
    used_at: dt.datetime | None = instant(nullable=True)
    revoked_at: dt.datetime | None = instant(nullable=True)


class ApiKey(SQLModel, table=True):
    """A credential for integrators. The secret is shown once at creation; only its keyed
    hash (HMAC-SHA256 under the server secret) is stored."""

    __tablename__ = "api_keys"

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(sa_column=Column(String(100), nullable=False))
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # Space-separated, sorted: "export read write".
    scopes: str = Field(sa_column=Column(String(32), nullable=False))
    created_at: dt.datetime = instant(default_now=True)
    last_used_at: dt.datetime | None = instant(nullable=True)
    revoked_at: dt.datetime | None = instant(nullable=True)
