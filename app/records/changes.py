"""The changes feed: every write to a patient's record, in commit order, for devices to catch up.

Hooking a write path in: after the write (in the same unit of work), call
`record_change(session, patient_id, kind=..., key=..., op="upsert" | "delete", version=...,
data=<the record as GET shows it, or None for a deletion>, now=now)` — or `record_changes`
with many. Any `kind` string may be used (e.g. `exercise_plan`, `questionnaire`).

Why the order is the commit order, for one patient: every writer takes the patient's lock
(`records.locks.lock_patient`; PostgreSQL: `SELECT … FOR UPDATE` on the patient row, held to the
end of the transaction; SQLite: every transaction is `BEGIN IMMEDIATE`, one writer at a time)
before it allocates `seq` numbers (PostgreSQL: a sequence without cache; SQLite: AUTOINCREMENT).
So for one patient, a transaction's numbers are all larger than those of every transaction that
committed before it and smaller than those of every one that commits after it, and no reader can
see a number while a smaller one for the same patient is still uncommitted. A cursor (the last
`seq` seen) therefore never skips a change that commits later. `record_changes` takes the lock
itself (a no-op when the caller holds it already).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import Session, col

from app.pagination import cursor_int, decode_cursor, encode_cursor
from app.records.locks import lock_patient
from app.records.models import Change, StateQueue
from app.sql import insert_many, table_of, upsert_least

Op = Literal["upsert", "delete"]


@dataclass(frozen=True)
class ChangeRecord:
    kind: str
    key: str
    op: Op
    version: int
    data: dict[str, Any] | None
    # The earliest local date whose derived state (flag episodes, panel numbers) the change
    # may alter; None when no flag rule reads the kind. `DATE_MIN` for "any".
    touches: dt.date | None = None


def record_changes(
    session: Session, patient_id: uuid.UUID, changes: Sequence[ChangeRecord], *, now: dt.datetime
) -> None:
    if not changes:
        return
    lock_patient(session, patient_id)
    insert_many(session, table_of(Change), [change_values(patient_id, c, now) for c in changes])
    touched = [c.touches for c in changes if c.touches is not None]
    if touched:
        enqueue_state(session, patient_id, min(touched), now=now)


def change_values(patient_id: uuid.UUID, change: ChangeRecord, now: dt.datetime) -> dict[str, Any]:
    """The feed row of one change (its `seq` is the database's)."""
    return {
        "patient_id": patient_id,
        "kind": change.kind,
        "record_key": change.key,
        "op": change.op,
        "version": change.version,
        "data": change.data,
        "changed_at": now,
    }


def enqueue_state(
    session: Session, patient_id: uuid.UUID, from_date: dt.date, *, now: dt.datetime
) -> None:
    """Queue the patient for the state worker from `from_date` on (the earlier date wins)."""
    upsert_least(
        session,
        table_of(StateQueue),
        {"patient_id": patient_id, "from_date": from_date, "queued_at": now},
        "patient_id",
        "from_date",
    )


def record_change(
    session: Session,
    patient_id: uuid.UUID,
    *,
    kind: str,
    key: str,
    op: Op,
    version: int,
    data: dict[str, Any] | None,
    now: dt.datetime,
) -> None:
    record_changes(session, patient_id, [ChangeRecord(kind, key, op, version, data)], now=now)


def read_changes(
    session: Session, patient_id: uuid.UUID, *, cursor: str | None, limit: int
) -> tuple[list[Any], str, bool]:
    """The changes after the cursor, oldest first. Returns (rows, next cursor, has_more); the
    next cursor is given even at the end, so that a device can ask again later."""
    after = 0
    if cursor is not None:
        after = cursor_int(decode_cursor(cursor, ("s",))["s"])
    t = table_of(Change)
    rows = list(
        session.execute(
            select(t.c.seq, t.c.kind, t.c.record_key, t.c.op, t.c.version, t.c.data, t.c.changed_at)
            .where(col(Change.patient_id) == patient_id, col(Change.seq) > after)
            .order_by(col(Change.seq))
            .limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].seq if rows else after
    return rows, encode_cursor({"s": last}), has_more
