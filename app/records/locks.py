"""The per-patient write lock (PostgreSQL): one writer of a patient's record at a time."""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, column, select, table
from sqlmodel import Session

from app.sql import is_postgresql

# The patients table by name: the lock needs its key only (records sits below care).
_patients = table("patients", column("id", Uuid()))
_LOCK = select(_patients.c.id).where(_patients.c.id == bindparam("patient_id")).with_for_update()


def takes_row_locks(session: Session) -> bool:
    """SQLite needs none: every write transaction there is already BEGIN IMMEDIATE."""
    return is_postgresql(session)


def mark_locked(session: Session, patient_id: uuid.UUID) -> None:
    """Record that this transaction holds the patient's row lock (taken by a `SELECT … FOR
    UPDATE` of the patient), so that `lock_patient` does not ask again."""
    held: dict[uuid.UUID, object] = session.info.setdefault("locked_patients", {})
    held[patient_id] = session.get_transaction()


def lock_patient(session: Session, patient_id: uuid.UUID) -> None:
    """Serialise writers of one patient's record, so that versions, ETags and the order of
    changes are decided one writer at a time."""
    if not takes_row_locks(session):
        return
    held: dict[uuid.UUID, object] = session.info.setdefault("locked_patients", {})
    transaction = session.get_transaction()
    if transaction is not None and held.get(patient_id) is transaction:
        return  # already held by this transaction (the lock lasts until it ends)
    session.execute(_LOCK, {"patient_id": patient_id})
    mark_locked(session, patient_id)
