"""Shared column helpers for table models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field

from app.db import UTCDateTime, utcnow


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def instant(*, nullable: bool = False, default_now: bool = False, index: bool = False) -> Any:
    kw: dict[str, Any] = {}
    if default_now:
        kw["default_factory"] = utcnow
    elif nullable:
        kw["default"] = None
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index), **kw)


def patient_fk(*, primary_key: bool = False, index: bool | None = None) -> Any:
    """Every patient-data table carries `patient_id`; erasing a patient cascades to it. It is
    indexed on its own unless it is the key or `index=False` (a composite index leads with
    it)."""
    return Field(
        sa_column=Column(
            Uuid(),
            ForeignKey("patients.id", ondelete="CASCADE"),
            nullable=False,
            primary_key=primary_key,
            index=(not primary_key) if index is None else index,
        )
    )


def user_fk() -> Any:
    """A user who wrote something (a clinician, the recorder): kept as null if the account is
    removed, and the row stays."""
    return Field(
        default=None,
        sa_column=Column(Uuid(), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


def in_list(column: str, values: tuple[str, ...], *, nullable: bool = True) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    expr = f"{column} IN ({quoted})"
    return f"{column} IS NULL OR {expr}" if nullable else expr


def between(column: str, low: float, high: float, *, nullable: bool = True) -> str:
    expr = f"{column} >= {low} AND {column} <= {high}"
    return f"{column} IS NULL OR ({expr})" if nullable else expr


__all__ = ["between", "dt", "in_list", "instant", "patient_fk", "user_fk", "uuid_pk"]
