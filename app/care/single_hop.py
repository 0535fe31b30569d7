"""A versioned record's PUT in one threadpool hop and two round trips (PostgreSQL).

The general path of a PUT (route → `{pid}` guard → `put_versioned` → commit) takes three
threadpool hops and seven round trips: the caller with the patient's lock, the record, its
write, the change row, the flag-state queue, the audit row, the commit. For its common case —
a patient writing their own record with a bearer token, on PostgreSQL — `SingleHopRoute`
(single_hop_route.py) does the same work in one hop, with the statements of this module sent
in two pipelines:

1. BEGIN; the caller (the sign-in still active, `active_sign_in`) with the patient's row
   lock; the record's current version, locked;
2. one or two statements (data-modifying WITH queries, `joined_statements`) writing the new
   version, the revision it supersedes, its change-feed row, the flag-state queue and the
   audit row; COMMIT.

The rules are the general path's own (`decide_put`, `written_values`, `revision_values`, the
kind's `change`, `audit.event_values`); tests/care/test_single_hop.py holds the answers, rows,
revisions, changes and audit rows of both paths equal. Anything else is deferred *before* this
module writes anything: another caller or credential, a body, key or header the general path
would refuse, a failed precondition, any other database error. The general path then serves
the request from the start, so every refusal, error and audit record of a refusal has one
source. Two answers are given here, the same as the general path's: a rate limit's 429 (the
general path would count the request a second time) and the 503 of a database that is
unavailable or of a patient lock not granted within `lock_timeout` (it would wait again).

On SQLite (the embedded default) every PUT takes the general path; so does every PUT when
`KNEETRACK_SINGLE_HOP_WRITES=false`."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
import psycopg
from fastapi import Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from psycopg.rows import namedtuple_row
from sqlalchemy import select
from sqlalchemy.exc import OperationalError as DBAPIOperationalError
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.dependencies import (
    BEARER_FAMILY,
    BEARER_USER,
    BearerSession,
    active_sign_in,
    bearer_session,
    parse_pid,
    remember_actor,
)
from app.auth.models import User
from app.auth.scopes import required_scope
from app.care.models import Patient
from app.db import get_engine
from app.errors import AppError, PreconditionFailed, Unauthorized
from app.ratelimit import RateLimits
from app.records.changes import ChangeRecord, change_values
from app.records.http import MAX_CONDITION
from app.records.models import Change, Revision, StateQueue
from app.records.versioned import (
    Outcome,
    VersionedKind,
    decide_put,
    etag_of,
    revision_values,
    row_statement,
    written_values,
)
from app.sql import PgTable, joined_statements, pipeline_connection, postgresql_sql

log = logging.getLogger("kneetrack.single_hop")


class Defer(Exception):
    """Not for this path: the general path serves the request."""


# 1a. The caller, if the bearer token's sign-in is still active and the caller is a patient,
# with their patient row locked (the per-patient write lock of app/records/locks.py).
_CALLER = postgresql_sql(
    select(col(User.role), col(User.display_name))
    .join(Patient, col(Patient.id) == col(User.id))
    .where(active_sign_in(BEARER_USER, BEARER_FAMILY))
    .with_for_update(of=Patient)
)


_CHANGES = PgTable(Change, skip=("seq",))
_REVISIONS = PgTable(Revision)
_AUDIT = PgTable(AuditEvent, skip=("id",))
_STATE = PgTable(StateQueue)
# Round trip 2's statements, joined by `joined_statements`: their parameters are named with
# the prefix of the part they fill.
_CHANGE_SQL = _CHANGES.insert(prefix="c_")
_REVISION_SQL = _REVISIONS.insert(prefix="r_")
_AUDIT_SQL = _AUDIT.insert(prefix="a_")
# `records.changes.enqueue_state`: the earlier date wins.
_STATE_SQL = _STATE.insert(
    " ON CONFLICT (patient_id) DO UPDATE SET"
    " from_date = LEAST(state_queue.from_date, EXCLUDED.from_date)",
    prefix="s_",
)


@dataclass(frozen=True)
class PutSpec:
    """One kind's PUT on this path. `key` reads the path's key (ValueError or a validation
    error defers); `columns` reads the body and returns the columns to write (`written_values`
    adds the version and instants) and the test of equal content, or raises to defer."""

    kind: VersionedKind[Any]
    key_param: str
    key: Callable[[str], Any]
    columns: Callable[[bytes, Any, dt.datetime], tuple[dict[str, Any], Callable[[Any], bool]]]

    @cached_property
    def table(self) -> PgTable:
        return PgTable(self.kind.model)

    @cached_property
    def defaults(self) -> dict[str, Any]:
        """The model's plain defaults of its columns (a new row's `id` is made here)."""
        fields = self.kind.model.model_fields
        return {
            c: fields[c].default
            for c in self.table.columns
            if c in fields and fields[c].default_factory is None and not fields[c].is_required()
        }

    @cached_property
    def statements(self) -> tuple[str, str, str]:
        """The kind's row locked, its INSERT and its UPDATE."""
        keep = ("id", "patient_id", self.kind.key_column)
        return (
            postgresql_sql(row_statement(self.kind, for_update=True)),
            self.table.insert(prefix="v_"),
            self.table.update(keep, prefix="v_"),
        )


def _utc(value: Any) -> Any:
    return value.astimezone(dt.UTC) if isinstance(value, dt.datetime) else value


class _Row:
    """A record's columns by attribute, as the kind's payload and change functions read an ORM
    row (instants in UTC, as `UTCDateTime` reads them)."""

    version: int

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update({k: _utc(v) for k, v in values.items()})


def _bearer(request: Request) -> BearerSession:
    headers = request.headers
    if "x-api-key" in headers:
        raise Defer
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    if scheme.lower() != "bearer" or not token:
        raise Defer
    try:
        return bearer_session(token)
    except Unauthorized as exc:
        raise Defer from exc  # the general path answers the 401


def _conditions(request: Request) -> tuple[str | None, str | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise Defer
    if_match = request.headers.get("if-match")
    if_none_match = request.headers.get("if-none-match")
    for value in (if_match, if_none_match):
        if value is not None and len(value) > MAX_CONDITION:
            raise Defer
    return if_match, if_none_match


def put(
    spec: PutSpec, request: Request, body: bytes, now: dt.datetime, limits: RateLimits
) -> Response:
    """The PUT in one hop, or `Defer` before anything was written."""
    claimed = _bearer(request)
    if parse_pid(request.path_params["pid"], me=claimed.user_id) != claimed.user_id:
        raise Defer  # someone else's record: the general path answers 403 or 404
    try:
        key = spec.key(request.path_params[spec.key_param])
        columns, content_equal = spec.columns(body, key, now)
    except (ValueError, AppError) as exc:  # pydantic's ValidationError is a ValueError
        raise Defer from exc
    conditions = _conditions(request)
    try:
        with pipeline_connection(get_engine()) as conn:
            caller, current = _read(conn, spec, claimed, key)
            if caller is None or caller.role != "patient":
                raise Defer
            actor = claimed.actor(caller.role, caller.display_name)
            # From here a deferral hands the general path this caller (`remembered_actor`):
            # authenticated, and counted against the rate limit, once.
            remember_actor(request, actor)
            limits.hit("principal", actor.principal)
            try:
                outcome = decide_put(
                    current, content_equal, if_match=conditions[0], if_none_match=conditions[1]
                )
            except PreconditionFailed as exc:
                raise Defer from exc  # the general path answers 412 and records the failure
            event = audit.event_values(
                request,
                actor,
                patient_id=actor.user_id,
                action=required_scope(request),
                outcome="allowed",
                status=201 if outcome == "created" else 200,
            )
            row = _write(conn, spec, _Put(current, columns, key, outcome, now), event)
    except psycopg.OperationalError as exc:
        # The database went away or a lock was not granted in time (`lock_timeout`): the 503
        # the general path answers for the same error, without a second wait.
        raise DBAPIOperationalError(None, None, exc) from exc
    except psycopg.Error as exc:
        # Nothing was committed (a failed statement aborts the rest of its pipeline, COMMIT
        # included). The general path tries again.
        log.warning("single-hop write deferred: %s: %s", type(exc).__name__, exc)
        raise Defer from exc
    return Response(
        content=orjson.dumps(spec.kind.change(row).data),
        status_code=event["status"],
        media_type="application/json",
        headers={"ETag": etag_of(row.version)},
    )


@dataclass(frozen=True)
class _Put:
    """What round trip 2 writes: the decision on the current version and the new columns."""

    current: _Row | None
    columns: dict[str, Any]
    key: Any
    outcome: Outcome
    now: dt.datetime


def _read(
    conn: psycopg.Connection[Any], spec: PutSpec, claimed: BearerSession, key: Any
) -> tuple[Any, _Row | None]:
    """Round trip 1: the caller with the patient's lock, then the record, locked (in this
    order, as every writer takes them)."""
    caller_cur = conn.cursor(row_factory=namedtuple_row)
    row_cur = conn.cursor(row_factory=namedtuple_row)
    with caller_cur, row_cur:
        with conn.pipeline():
            caller_cur.execute("BEGIN")
            caller_cur.execute(_CALLER, claimed.params())
            row_cur.execute(spec.statements[0], {"patient_id": claimed.user_id, "key": key})
        caller = caller_cur.fetchone()
        found = row_cur.fetchone()
    return caller, None if found is None else _Row(found._asdict())


class _Writes:
    """Round trip 2's writes, each a named part of a joined statement (`joined_statements`)."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str, dict[str, Any]]] = []

    def add(self, name: str, text: str, table: PgTable, values: dict[str, Any]) -> None:
        self.parts.append((name, text, table.bind(values, prefix=f"{name}_")))


def _new_version(writes: _Writes, spec: PutSpec, put: _Put, patient_id: Any) -> _Row:
    """The record's new version, and the revision of the one it replaces."""
    kind, current = spec.kind, put.current
    _select, insert_row, update_row = spec.statements
    if current is None:
        # Every column, defaults included, as the general path's new row has them.
        ids = {"id": uuid.uuid4(), "patient_id": patient_id, kind.key_column: put.key}
        values = spec.defaults | ids | written_values(None, put.columns, put.now)
        writes.add("v", insert_row, spec.table, values)
    else:
        values = vars(current) | written_values(current, put.columns, put.now)
        writes.add("v", update_row, spec.table, values)
    if put.outcome == "updated":
        assert current is not None
        revision = revision_values(
            patient_id=patient_id,
            kind=kind.kind,
            key=kind.key_text(put.key),
            version=current.version,
            reason="replaced",
            payload=kind.payload(current),
            now=put.now,
            actor_id=patient_id,
        )
        writes.add("r", _REVISION_SQL, _REVISIONS, revision)
    return _Row(values)


def _record_change(writes: _Writes, change: ChangeRecord, pid: Any, now: Any) -> None:
    """`records.changes.record_changes` for one change: the feed row, the flag-state queue."""
    writes.add("c", _CHANGE_SQL, _CHANGES, change_values(pid, change, now))
    if change.touches is not None:
        state = {"patient_id": pid, "from_date": change.touches, "queued_at": now}
        writes.add("s", _STATE_SQL, _STATE, state)


def _write(conn: psycopg.Connection[Any], spec: PutSpec, put: _Put, event: dict[str, Any]) -> _Row:
    """Round trip 2: the new version, what it supersedes, its change and the audit row (joined
    into one or two statements: none of them reads another's row), then COMMIT."""
    patient_id = event["patient_id"]
    writes = _Writes()
    if put.outcome == "unchanged":
        assert put.current is not None
        row = put.current
    else:
        row = _new_version(writes, spec, put, patient_id)
        _record_change(writes, spec.kind.change(row), patient_id, put.now)
    # `audit.record`: the allowed request's event, committed with its rows.
    writes.add("a", _AUDIT_SQL, _AUDIT, event)
    with conn.pipeline(), conn.cursor() as cur:
        for text, params in joined_statements(writes.parts):
            cur.execute(text, params)
        cur.execute("COMMIT")
    return row
