"""Streaming reads for exports: Core rows fetched in batches from a server-side cursor, so that
memory stays flat however long the history is.

A streamed response outlives the request's unit of work (the session commits before the body
is sent), so each export reads on its own connection, opened when the body starts."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Date, Row, Select, String, Text, Uuid, column, or_, select, table
from sqlalchemy.engine import Connection
from sqlmodel import col

from app.db import READ_ONLY, get_engine
from app.diary.models import ExercisePlan, ExerciseSession, SymptomEntry
from app.diary.vocabulary import KNEE_COLUMN_SUFFIXES
from app.function_tests.models import FunctionTest
from app.questionnaires.models import QuestionnaireResponse
from app.sql import table_of
from app.treatments.models import Treatment

BATCH = 500


def knee_values(row: Any, side: str) -> dict[str, Any]:
    return {name: getattr(row, f"{side}_{name}") for name in KNEE_COLUMN_SUFFIXES}


# `version` is read for FHIR (an entry replaced since it was first written is `amended`).
SYMPTOM_COLUMNS = tuple(
    c
    for c in table_of(SymptomEntry).columns
    if c.name not in ("patient_id", "created_at", "updated_at", "deleted_at")
)
SESSION_COLUMNS = tuple(
    c
    for c in table_of(ExerciseSession).columns
    if c.name not in ("patient_id", "created_at", "updated_at", "deleted_at")
)


def _dated(
    stmt: Select[Any], column: Any, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    if date_from is not None:
        stmt = stmt.where(column >= date_from)
    if date_to is not None:
        stmt = stmt.where(column <= date_to)
    return stmt


def symptom_entries(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Live (not deleted) entries by ascending date; uses the (patient_id, entry_date) key."""
    stmt = select(*SYMPTOM_COLUMNS).where(
        col(SymptomEntry.patient_id) == patient_id, col(SymptomEntry.deleted_at).is_(None)
    )
    stmt = _dated(stmt, col(SymptomEntry.entry_date), date_from, date_to)
    return stmt.order_by(col(SymptomEntry.entry_date))


def exercise_sessions(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Live sessions by local date then start; uses the (patient_id, local_date) index."""
    stmt = select(*SESSION_COLUMNS).where(
        col(ExerciseSession.patient_id) == patient_id, col(ExerciseSession.deleted_at).is_(None)
    )
    stmt = _dated(stmt, col(ExerciseSession.local_date), date_from, date_to)
    return stmt.order_by(col(ExerciseSession.local_date), col(ExerciseSession.started_at))


def koos_jr_responses(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    q = QuestionnaireResponse
    stmt = select(
        col(q.id), col(q.completed_on), col(q.answers), col(q.score), col(q.created_at)
    ).where(col(q.patient_id) == patient_id, col(q.instrument) == "koos_jr")
    stmt = _dated(stmt, col(q.completed_on), date_from, date_to)
    return stmt.order_by(col(q.completed_on), col(q.created_at))


def treatments(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Live treatments by date."""
    t = Treatment
    columns: tuple[Any, ...] = (
        col(t.id),
        col(t.kind),
        col(t.knee),
        col(t.date),
        col(t.notes),
        col(t.recorded_by),
    )
    stmt = select(*columns).where(col(t.patient_id) == patient_id, col(t.deleted_at).is_(None))
    stmt = _dated(stmt, col(t.date), date_from, date_to)
    return stmt.order_by(col(t.date), col(t.created_at))


def function_tests(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Live function test results by date."""
    f = FunctionTest
    columns: tuple[Any, ...] = (
        col(f.id),
        col(f.test),
        col(f.performed_on),
        col(f.value),
        col(f.supervised),
    )
    stmt = select(*columns).where(col(f.patient_id) == patient_id, col(f.deleted_at).is_(None))
    stmt = _dated(stmt, col(f.performed_on), date_from, date_to)
    return stmt.order_by(col(f.performed_on), col(f.created_at))


def exercise_plans(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Plans in force at some time in the window (all of them without one), by start."""
    p = ExercisePlan
    stmt = select(*table_of(p).columns).where(col(p.patient_id) == patient_id)
    if date_to is not None:
        stmt = stmt.where(col(p.start_date) <= date_to)
    if date_from is not None:
        stmt = stmt.where(or_(col(p.end_date).is_(None), col(p.end_date) >= date_from))
    return stmt.order_by(col(p.start_date), col(p.created_at))


# The flag episodes' table, by name: exports sit beside trends, which owns the model.
_EPISODES = table(
    "flag_episodes",
    column("id", Uuid()),
    column("patient_id", Uuid()),
    column("rule", String()),
    column("key", String()),
    column("severity", String()),
    column("status", String()),
    column("first_date", Date()),
    column("last_date", Date()),
    column("reason", Text()),
)


def flag_episodes(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """Stored flag episodes that reach into the window, by first date."""
    e = _EPISODES.c
    stmt = select(
        e.id, e.rule, e.key, e.severity, e.status, e.first_date, e.last_date, e.reason
    ).where(e.patient_id == patient_id)
    if date_to is not None:
        stmt = stmt.where(e.first_date <= date_to)
    if date_from is not None:
        stmt = stmt.where(e.last_date >= date_from)
    return stmt.order_by(e.first_date, e.rule, e.key)


def single_item_responses(
    patient_id: uuid.UUID, date_from: dt.date | None, date_to: dt.date | None
) -> Select[Any]:
    """PGIC and PASS answers by date."""
    q = QuestionnaireResponse
    columns: tuple[Any, ...] = (col(q.id), col(q.instrument), col(q.completed_on), col(q.score))
    stmt = select(*columns).where(
        col(q.patient_id) == patient_id, col(q.instrument).in_(("pgic", "pass"))
    )
    stmt = _dated(stmt, col(q.completed_on), date_from, date_to)
    return stmt.order_by(col(q.completed_on), col(q.created_at))


def stream(conn: Connection, stmt: Select[Any]) -> Iterator[Row[Any]]:
    """Rows in batches of BATCH from a server-side cursor (PostgreSQL; SQLite steps its cursor
    lazily anyway)."""
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
    yield from result


def read_connection() -> Connection:
    """A connection of its own that only reads (no write lock on SQLite)."""
    return get_engine().connect().execution_options(**{READ_ONLY: True})
