"""The one place that knows driver and ORM internals, for the paths that must be fast:
a model's Core table, typed bound parameters for statements built once, plain Core rows (no
ORM loading step), bulk inserts (COPY on PostgreSQL) and the dialect check. Code elsewhere
asks these functions instead of reaching for `__table__`, raw cursors or dialect names;
docs/architecture.md says when a fast path is worth it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BindParameter,
    ColumnElement,
    Connection,
    Executable,
    Row,
    Table,
    func,
    insert,
)
from sqlalchemy import bindparam as sa_bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (SQLModel does not type `__table__`)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def bindparam(name: str, model: type[SQLModel], column: str) -> BindParameter[Any]:
    """A named parameter typed like `model.column`, for a statement built once at import:
    SQLAlchemy then reuses its compiled form instead of building a cache key per request."""
    return sa_bindparam(name, type_=table_of(model).c[column].type)


def is_postgresql(bind: Session | Connection) -> bool:
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    return dialect.name == "postgresql"


def core_rows(session: Session, statement: Executable) -> Sequence[Row[Any]]:
    """Plain rows of column values, read on the session's connection: no ORM loading step
    (for queries that select columns, never entities), after the session's pending changes."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement).all()


def in_ids(column: Any, ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    """`column = id` for one id (an index lookup every planner takes), `IN (…)` for more."""
    clause: ColumnElement[bool] = column == ids[0] if len(ids) == 1 else column.in_(ids)
    return clause


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """A bulk INSERT of rows that all have the same keys: COPY on PostgreSQL (a plain
    executemany would send one statement per row), executemany on SQLite (in-process, already
    fast), one INSERT for one row. Values must be what the column types would bind (aware UTC
    datetimes, …)."""
    if not rows:
        return
    # A single row goes as one INSERT: COPY takes two round trips (the COPY, then the data).
    if len(rows) == 1 or not is_postgresql(session):
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


def upsert_least(
    session: Session, table: Table, row: dict[str, Any], key: str, column: str
) -> None:
    """Insert `row`, or where a row with its `key` exists, set its `column` to the smaller of
    the two values (the other columns keep theirs): one statement on either database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(table).values(row)
        smaller = func.least(table.c[column], stmt.excluded[column])
    else:
        stmt = sqlite_insert(table).values(row)
        smaller = func.min(table.c[column], stmt.excluded[column])
    session.execute(stmt.on_conflict_do_update(index_elements=[key], set_={column: smaller}))
