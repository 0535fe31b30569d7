"""The one place that knows driver and ORM internals, for the paths that must be fast:
a model's Core table, typed bound parameters for statements built once, plain Core rows (no
ORM loading step), bulk inserts (COPY on PostgreSQL), the dialect check, and the pieces of
the single-hop PUT (app/care/single_hop.py): statement text for psycopg, a table's INSERT and
UPDATE with JSON bound as SQLAlchemy binds it, a pooled connection for pipelines. Code elsewhere
asks these functions instead of reaching for `__table__`, raw cursors or dialect names;
docs/architecture.md says when a fast path is worth it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import orjson
import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import (
    JSON,
    BindParameter,
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Row,
    Select,
    Table,
    func,
    insert,
)
from sqlalchemy import bindparam as sa_bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel

from app.db import get_engine


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class (SQLModel does not type `__table__`)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def bindparam(name: str, model: type[SQLModel], column: str) -> BindParameter[Any]:
    """A named parameter typed like `model.column`, for a statement built once at import:
    SQLAlchemy then reuses its compiled form instead of building a cache key per request."""
    return sa_bindparam(name, type_=table_of(model).c[column].type)


def is_postgresql(bind: Session | Connection | Engine) -> bool:
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


# --- the single-hop PUT's pieces (PostgreSQL, psycopg) ----------------------------------------

_PSYCOPG = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]


def postgresql_sql(statement: Select[Any] | Select[str, str]) -> str:
    """A statement's text for psycopg (`%(name)s` parameters), compiled once at import."""
    return str(statement.compile(dialect=_PSYCOPG))


class PgTable:
    """A model's table as hand-written statements write it: its columns (`skip` left to the
    database), and JSON columns bound the way SQLAlchemy binds them (serialised by the
    engine's dialect, cast to JSON), so that both ways store the same text."""

    def __init__(self, model: type[SQLModel], *, skip: tuple[str, ...] = ()) -> None:
        self.table = table_of(model)
        self.columns = [c.key for c in self.table.columns if c.key not in skip]
        self.json = frozenset(c.key for c in self.table.columns if isinstance(c.type, JSON))

    def _param(self, column: str, prefix: str) -> str:
        name = f"%({prefix}{column})s"
        return f"{name}::JSON" if column in self.json else name

    def insert(self, tail: str = "", *, prefix: str = "") -> str:
        """INSERT of every column; parameters named `prefix` + column (see `bind`)."""
        names = ", ".join(self.columns)
        values = ", ".join(self._param(c, prefix) for c in self.columns)
        # Names from the table's metadata; every value is a bound parameter.
        return f"INSERT INTO {self.table.name} ({names}) VALUES ({values}){tail}"  # noqa: S608

    def update(self, keep: tuple[str, ...], *, prefix: str = "") -> str:
        """UPDATE of every column but `keep`, of the row with the given `id`."""
        sets = ", ".join(f"{c} = {self._param(c, prefix)}" for c in self.columns if c not in keep)
        return f"UPDATE {self.table.name} SET {sets} WHERE id = %({prefix}id)s"  # noqa: S608

    @cached_property
    def _serialisers(self) -> dict[str, Callable[[Any], Any]]:
        dialect = get_engine().dialect
        found = {c: self.table.c[c].type.dialect_impl(dialect) for c in self.json}
        processors = {c: t.bind_processor(dialect) for c, t in found.items()}
        return {c: f for c, f in processors.items() if f is not None}

    def bind(self, values: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
        """The parameters of `insert` or `update` built with the same `prefix`."""
        out = dict(values)
        for c, serialise in self._serialisers.items():
            out[c] = serialise(out[c])
        return {prefix + k: v for k, v in out.items()} if prefix else out


def one_statement(parts: Sequence[tuple[str, str]]) -> str:
    """Data-modifying statements `(name, text)` sent as one: all but the last in a WITH clause.
    PostgreSQL runs every data-modifying WITH query to completion, on the snapshot of the
    statement, whether or not the rest reads it; so the statements must not depend on each
    other's rows, and their parameters need names of their own (`PgTable`'s `prefix`)."""
    *first, (_, last) = parts
    if not first:
        return last
    return "WITH " + ", ".join(f"{name} AS ({text})" for name, text in first) + " " + last


# psycopg keeps a statement's conversion to PostgreSQL's `$n` parameters only for statements
# of at most 50 parameters and 4,096 characters (its `_queries.MAX_CACHED_STATEMENT_*`); a
# longer one is read again on every execution, which cost 5 % of a PUT's CPU by profile.
CACHED_PARAMS = 50
CACHED_CHARS = 4096


def joined_statements(
    parts: Sequence[tuple[str, str, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any]]]:
    """Data-modifying statements `(name, text, parameters)` joined, in order, into as few
    statements (`one_statement`) as keep each within what psycopg caches."""
    groups: list[list[tuple[str, str, dict[str, Any]]]] = []
    params = chars = CACHED_PARAMS + CACHED_CHARS  # past both: the first part opens a group
    for part in parts:
        _, text, values = part
        if params + len(values) > CACHED_PARAMS or chars + len(text) + 16 > CACHED_CHARS:
            groups.append([])
            params = chars = 0
        groups[-1].append(part)
        params += len(values)
        chars += len(text) + 16  # the name, AS, brackets and comma around it
    return [
        (
            one_statement([(n, t) for n, t, _ in group]),
            {k: v for *_, p in group for k, v in p.items()},
        )
        for group in groups
    ]


@contextmanager
def pipeline_connection(engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """The pool's psycopg connection (pinged on checkout like any other) in autocommit, so that
    BEGIN and COMMIT travel inside pipelines as statements of their own: psycopg's own
    transaction handling would spend a round trip on each. On the way back to the pool, what
    is still open is rolled back and autocommit is switched off; a broken connection is
    dropped by the pool."""
    raw = engine.raw_connection()
    conn: psycopg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
    try:
        conn.autocommit = True
        yield conn
    finally:
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            conn.autocommit = False
        except psycopg.Error:
            raw.invalidate()
        finally:
            raw.close()
