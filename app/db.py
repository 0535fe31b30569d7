"""Engine, metadata naming convention, column types and the per-request unit of work."""

from __future__ import annotations

import datetime as dt
import select
import time
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Annotated, Any

import anyio
from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import DateTime, Dialect, MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Set before the first table is declared, so that every constraint has a stable name that
# migrations can refer to on both SQLite and PostgreSQL.
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An instant stored in UTC; always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is required")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; busy_timeout makes a writer wait for the lock
    # instead of failing with "database is locked"; foreign keys are off in SQLite by default.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()
    # Take the write lock at BEGIN (immediate transaction): a deferred transaction that
    # upgrades from read to write can fail at once with SQLITE_BUSY, whatever the timeout.
    dbapi_conn.isolation_level = None


# Execution option marking a connection that only reads (e.g. a streamed export).
READ_ONLY = "kneetrack_read_only"


def _sqlite_begin(conn: Any) -> None:
    # A read-only connection takes no write lock: in WAL mode it reads a snapshot while writers
    # carry on, so a long export never holds up anyone's diary entry.
    read_only = conn.get_execution_options().get(READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


DB_MAX_OVERFLOW = 5
# The server's TCP keepalives on each session (idle seconds, interval seconds, probes): a
# client gone without a word (a partition) is noticed after 10 + 5 × 3 = 25 s.
SERVER_KEEPALIVE = (10, 5, 3)


def build_engine(url: str | None = None, **kw: Any) -> Engine:
    settings = get_settings()
    url = url or settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 15},
            **kw,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(
        parsed,
        pool_size=settings.db_pool_size,
        max_overflow=DB_MAX_OVERFLOW,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=1800,
        connect_args={
            # A database that does not answer must cost seconds, not minutes: a connect
            # timeout for new connections; TCP keepalives and a TCP user timeout so that a
            # connection whose peer vanished (no ACKs) fails instead of waiting forever.
            "connect_timeout": settings.db_connect_timeout_seconds,
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": settings.db_connect_timeout_seconds * 1000 * 3,
            # Without these, a transaction orphaned by a partition keeps its row locks until
            # the server's TCP keepalive notices (hours), and every request for that patient
            # waits on them: a hang, not a 503. The server's own keepalives end a session cut
            # off in the middle of a pipeline (app/care/single_hop.py), which PostgreSQL
            # counts as active, not idle, while it waits for the rest.
            "options": (
                f"-c lock_timeout={int(settings.db_lock_timeout_seconds * 1000)} "
                "-c idle_in_transaction_session_timeout="
                f"{int(settings.db_idle_in_transaction_seconds * 1000)} "
                f"-c tcp_keepalives_idle={SERVER_KEEPALIVE[0]} "
                f"-c tcp_keepalives_interval={SERVER_KEEPALIVE[1]} "
                f"-c tcp_keepalives_count={SERVER_KEEPALIVE[2]}"
            ),
        },
        **kw,
    )
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _mark_fresh)
        event.listen(engine, "checkout", _ping_before_use)
    return engine


def _mark_fresh(_dbapi_conn: Any, record: Any) -> None:
    record.info["fresh"] = True


def _ping_before_use(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """A pre-ping with a deadline (SQLAlchemy's `pool_pre_ping` has none): a pooled connection
    to a server that still holds the TCP connection but no longer answers (hung, or behind a
    half-dead proxy) would block a request forever. On timeout the pool discards it and opens
    a new one, which the connect timeout bounds; failing that, the request answers 503."""
    if record.info.pop("fresh", False):
        return
    if not _answers_within(dbapi_conn.pgconn, get_settings().db_ping_timeout_seconds):
        raise DisconnectionError("database did not answer the ping in time")


def _answers_within(pgconn: Any, timeout: float) -> bool:
    from psycopg import pq

    deadline = time.monotonic() + timeout
    try:
        if pgconn.status != pq.ConnStatus.OK:
            return False
        pgconn.send_query(b"SELECT 1")
        while pgconn.flush() != 0:
            if not _wait(pgconn.socket, deadline, write=True):
                return False
        while True:
            pgconn.consume_input()
            if not pgconn.is_busy():
                break
            if not _wait(pgconn.socket, deadline):
                return False
        ok = True
        while (result := pgconn.get_result()) is not None:
            ok = ok and result.status == pq.ExecStatus.TUPLES_OK
        return ok
    except Exception:  # any failure of the ping means "do not use this connection"
        return False


def _wait(fd: int, deadline: float, *, write: bool = False) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    # poll(2): no FD_SETSIZE limit, and unlike an epoll selector no descriptor to open and
    # close on every ping.
    poller = select.poll()
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    return bool(poller.poll(remaining * 1000))


@lru_cache
def get_engine() -> Engine:
    return build_engine()


def _finish(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session() -> AsyncIterator[Session]:
    """One unit of work per request: commit once after the endpoint, before the response.

    An async dependency: making the session touches no database (a connection is checked out
    at the first statement, in the endpoint's or another dependency's thread), so only the
    commit takes a threadpool hop. The finish is shielded from cancellation, so that a client
    that goes away never leaves a connection checked out with an open transaction."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(
                _finish, session, commit=bool(getattr(exc, "keep_changes", False))
            )
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_finish, session, commit=True)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
