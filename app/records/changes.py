"""The changes feed: every write to a patient's record, in commit order, for devices to catch up.

Hooking a write path in: after the write (in the same unit of work), call
`record_change(session, patient_id, kind=..., key=..., op="upsert" | "delete", version=...,
data=<the record as GET shows it, or None for a deletion>, now=now)` — or `record_changes`
with many. Any `kind` string may be used (e.g. `exercise_plan`, `questionnaire`).

Why the order is the commit order, for one patient: every writer takes the patient's lock
(`care.service.lock_patient`; PostgreSQL: `SELECT … FOR UPDATE` on the patient row, held to the
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

import orjson
from sqlalchemy import JSON, Table, insert, select
from sqlmodel import Session, col

from app.pagination import cursor_int, decode_cursor, encode_cursor
from app.records.locks import lock_patient
from app.records.models import Change

Op = Literal["upsert", "delete"]


@dataclass(frozen=True)
class ChangeRecord:
    kind: str
    key: str
    op: Op
    version: int
    data: dict[str, Any] | None


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """A bulk INSERT of rows that all have the same keys: COPY on PostgreSQL (a plain
    executemany would send one statement per row), executemany on SQLite (in-process, already
    fast), one INSERT for one row. Values must be what the column types would bind (aware UTC
    datetimes, …)."""
    if not rows:
        return
    # A single row goes as one INSERT: COPY takes two round trips (the COPY, then the data).
    if len(rows) == 1 or session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    # Columns null in every row are left out (they have no server default, so stay null).
    names = [
        n
        for n in rows[0]
        if table.c[n].server_default is not None or any(r[n] is not None for r in rows)
    ]
    json_cols = {n for n in names if isinstance(table.c[n].type, JSON)}
    columns = ", ".join(f'"{n}"' for n in names)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cur,
        cur.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy,
    ):
        for row in rows:
            # JSON goes as text (the server parses it), through the driver's fast str path.
            copy.write_row(
                [
                    orjson.dumps(row[n]).decode()
                    if n in json_cols and row[n] is not None
                    else row[n]
                    for n in names
                ]
            )


def record_changes(
    session: Session, patient_id: uuid.UUID, changes: Sequence[ChangeRecord], *, now: dt.datetime
) -> None:
    if not changes:
        return
    lock_patient(session, patient_id)
    insert_many(
        session,
        Change.__table__,  # type: ignore[attr-defined]
        [
            {
                "patient_id": patient_id,
                "kind": c.kind,
                "record_key": c.key,
                "op": c.op,
                "version": c.version,
                "data": c.data,
                "changed_at": now,
            }
            for c in changes
        ],
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
    t = Change.__table__  # type: ignore[attr-defined]
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
