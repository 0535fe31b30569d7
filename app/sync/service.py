"""Batch sync: many diary writes in one call, each decided and answered on its own, written
set-based (one query loads every affected row; inserts, updates, revisions and changes go out as
one bulk statement each). The rules are those of the single-record write path
(app/records/versioned.py: `decide_put`, `decide_delete`, `written_values`, …), applied to plain
objects instead of ORM rows; each kind is described by its `VersionedKind`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Container, Hashable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ARRAY, any_, bindparam, select, update
from sqlmodel import Session

from app.care.models import Patient
from app.diary import entries, sessions
from app.errors import AppError, PreconditionFailed, clean_validation_errors
from app.records.changes import ChangeRecord, record_changes
from app.records.locks import lock_patient
from app.records.models import Revision
from app.records.versioned import (
    VersionedKind,
    decide_delete,
    decide_put,
    deleted_values,
    etag_of,
    revision_values,
    written_values,
)
from app.schemas import strict_date
from app.sql import insert_many, is_postgresql, table_of
from app.sync.schemas import (
    SyncDeletion,
    SyncEntryItem,
    SyncIn,
    SyncSessionItem,
)

ENTRY, SESSION = entries.ENTRY_KIND, sessions.SESSION_KIND


Result = dict[str, Any]  # the shape of SyncResult; plain dicts, as a batch makes hundreds


def _result(kind: str | None, key: str | None, status: str, etag: str | None = None) -> Result:
    return {"kind": kind, "key": key, "status": status, "etag": etag}


def _invalid(kind: str | None, key: str | None, errors: list[dict[str, Any]]) -> Result:
    return {"kind": kind, "key": key, "status": "invalid", "errors": errors}


def _relative(exc: AppError) -> list[dict[str, Any]]:
    """An AppError's field errors with `loc` relative to the item (no `path`/`body` prefix)."""
    out = []
    for e in exc.errors or [{"loc": [], "msg": exc.detail or "Invalid value"}]:
        loc = list(e.get("loc", []))
        if loc and loc[0] in ("path", "body"):
            loc = loc[1:]
        out.append({**e, "loc": loc})
    return out


def _raw_key(raw: Any, field: str) -> str | None:
    value = raw.get(field) if isinstance(raw, dict) else None
    return value[:64] if isinstance(value, str) else None


def _parse(model: type[BaseModel], raw: Any) -> tuple[Any, list[dict[str, Any]] | None]:
    try:
        return model.model_validate(raw), None
    except ValidationError as exc:
        return None, clean_validation_errors(exc.errors())


@dataclass(frozen=True)
class PutEntry:
    item: SyncEntryItem


@dataclass(frozen=True)
class PutSession:
    item: SyncSessionItem


@dataclass(frozen=True)
class Delete:
    kind: str
    key: Any  # the entry's date or the session's id
    if_match: str | None


# One step per item, in input order: checked on its own (pass 1), or already answered.
Step = PutEntry | PutSession | Delete | Result


def _check(
    raw: Any,
    model: type[BaseModel],
    rule: Callable[[Any], None],
    kind: str,
    key_field: str,
) -> Any:
    """The item parsed and checked against its rule, or its `invalid` result."""
    item, errors = _parse(model, raw)
    if item is not None:
        try:
            rule(item)
            return item
        except AppError as exc:
            errors = _relative(exc)
    return _invalid(kind, _raw_key(raw, key_field), errors or [])


def _deletion(raw: Any) -> Step:
    item, errors = _parse(SyncDeletion, raw)
    if item is not None:
        try:
            key = strict_date(item.key) if item.kind == ENTRY else uuid.UUID(item.key)
            return Delete(item.kind, key, item.if_match)
        except ValueError:
            msg = f"Not a valid key for {item.kind}"
            errors = [{"loc": ["key"], "msg": msg, "type": "value_error"}]
    kind = raw.get("kind") if isinstance(raw, dict) else None
    return _invalid(kind if kind in (ENTRY, SESSION) else None, _raw_key(raw, "key"), errors or [])


def check_items(body: SyncIn, patient: Patient, now: dt.datetime) -> list[Step]:
    """Pass 1: every item checked on its own; an invalid one is answered and skipped."""
    steps: list[Step] = []
    # The items are as sent (SkipValidation in SyncIn): each is validated here, on its own.
    for raw in body.symptom_entries:
        rule = lambda i: entries.check_not_future(i.entry_date, now)  # noqa: E731
        checked = _check(raw, SyncEntryItem, rule, ENTRY, "entry_date")
        steps.append(PutEntry(checked) if isinstance(checked, SyncEntryItem) else checked)
    for sent in body.exercise_sessions:
        rule = lambda i: sessions.check_started_at(i, now)  # noqa: E731
        done = _check(sent, SyncSessionItem, rule, SESSION, "id")
        steps.append(PutSession(done) if isinstance(done, SyncSessionItem) else done)
    steps.extend(_deletion(deletion) for deletion in body.deletions)
    return steps


class _Table:
    """The rows of one kind that the batch touches, as plain objects, with what to write."""

    def __init__(self, versioned: VersionedKind[Any]) -> None:
        self.versioned = versioned
        self.model, self.kind, self.key_column = (
            versioned.model,
            versioned.kind,
            versioned.key_column,
        )
        self.rows: dict[Hashable, SimpleNamespace] = {}
        self.stored: set[Hashable] = set()
        self.dirty: dict[Hashable, None] = {}

    def load(self, session: Session, patient_id: uuid.UUID, keys: set[Any]) -> None:
        if not keys:
            return
        t = table_of(self.model)
        key = t.c[self.key_column]
        if is_postgresql(session):
            # One array parameter: an IN list of hundreds of parameters costs more to build
            # and parse than the query takes to run.
            matches = key == any_(bindparam("keys", list(keys), type_=ARRAY(key.type)))
        else:
            matches = key.in_(keys)
        for r in session.execute(select(t).where(t.c.patient_id == patient_id, matches)):
            key = r._mapping[self.key_column]
            self.rows[key] = SimpleNamespace(**r._mapping)
            self.stored.add(key)

    def write(self, session: Session) -> None:
        new = [vars(self.rows[k]) for k in self.dirty if k not in self.stored]
        changed = [vars(self.rows[k]) for k in self.dirty if k in self.stored]
        if new:
            insert_many(session, table_of(self.model), new)
        if changed:  # ORM bulk UPDATE by primary key: one executemany
            session.execute(update(self.model), changed)


class _Batch:
    def __init__(
        self, session: Session, patient: Patient, now: dt.datetime, actor_id: uuid.UUID
    ) -> None:
        self.session, self.patient, self.now, self.actor_id = session, patient, now, actor_id
        self.entries = _Table(entries.ENTRY)
        self.sessions = _Table(sessions.SESSION)
        self.revisions: list[dict[str, Any]] = []
        self.changes: list[ChangeRecord] = []

    def _revise(self, table: _Table, key: str, row: Any, reason: str) -> None:
        self.revisions.append(
            revision_values(
                patient_id=self.patient.id,
                kind=table.kind,
                key=key,
                version=row.version,
                reason=reason,
                payload=table.versioned.payload(row),
                now=self.now,
                actor_id=self.actor_id,
            )
        )

    def _change(self, table: _Table, row: Any, *, deleted: bool = False) -> None:
        self.changes.append(table.versioned.change(row, deleted=deleted))

    @staticmethod
    def _live_etag(row: Any | None) -> str | None:
        if row is None or row.deleted_at is not None:
            return None
        return etag_of(row.version)

    def put(
        self,
        table: _Table,
        key: Any,
        columns: dict[str, Any],
        content_equal: Callable[[Any], bool],
        if_match: str | None,
    ) -> Result:
        key_text = table.versioned.key_text(key)
        current = table.rows.get(key)
        try:
            outcome = decide_put(
                current, content_equal, if_match=if_match, if_none_match=None, unchanged_wins=True
            )
        except PreconditionFailed:
            return _result(table.kind, key_text, "conflict", self._live_etag(current))
        if outcome == "unchanged":
            return _result(table.kind, key_text, "unchanged", self._live_etag(current))
        if outcome == "updated":
            self._revise(table, key_text, current, "replaced")
        values = written_values(current, columns, self.now)
        if current is None:
            # A new row's id, unless the key column is the id itself.
            ident = {"id": uuid.uuid4(), table.key_column: key}
            current = SimpleNamespace(patient_id=self.patient.id, **ident, **values)
            table.rows[key] = current
        else:
            vars(current).update(values)
        table.dirty[key] = None
        self._change(table, current)
        return _result(table.kind, key_text, outcome, etag_of(current.version))

    def delete(self, table: _Table, key: Any, if_match: str | None) -> Result:
        key_text = table.versioned.key_text(key)
        current = table.rows.get(key)
        if current is None or current.deleted_at is not None:
            # Already gone (deleted before, or never stored): the wanted state holds.
            return _result(table.kind, key_text, "unchanged")
        try:
            decide_delete(current, if_match=if_match)
        except PreconditionFailed:
            return _result(table.kind, key_text, "conflict", self._live_etag(current))
        self._revise(table, key_text, current, "deleted")
        vars(current).update(deleted_values(current, self.now))
        table.dirty[key] = None
        self._change(table, current, deleted=True)
        return _result(table.kind, key_text, "deleted")

    def write(self) -> None:
        self.entries.write(self.session)
        self.sessions.write(self.session)
        if self.revisions:
            insert_many(self.session, table_of(Revision), self.revisions)
        record_changes(self.session, self.patient.id, self.changes, now=self.now)


def apply_batch(
    session: Session, patient: Patient, body: SyncIn, *, now: dt.datetime, actor_id: uuid.UUID
) -> list[Result]:
    steps = check_items(body, patient, now)
    # Pass 2: one query per table loads every row the batch touches.
    lock_patient(session, patient.id)
    batch = _Batch(session, patient, now, actor_id)
    entry_keys = {s.item.entry_date for s in steps if isinstance(s, PutEntry)}
    session_keys = {s.item.id for s in steps if isinstance(s, PutSession)}
    for d in (s for s in steps if isinstance(s, Delete)):
        (entry_keys if d.kind == ENTRY else session_keys).add(d.key)
    batch.entries.load(session, patient.id, entry_keys)
    batch.sessions.load(session, patient.id, session_keys)
    plan_ids = {s.item.plan_id for s in steps if isinstance(s, PutSession)}
    plans = sessions.existing_plans(session, patient.id, plan_ids)
    # Pass 3: decide each item in input order, against the state the earlier items left.
    results = [_decide(batch, step, plans) for step in steps]
    batch.write()
    return results


def _decide(batch: _Batch, step: Step, plans: Container[uuid.UUID]) -> Result:
    if isinstance(step, PutEntry):
        item = step.item
        cols = entries.entry_columns(item)
        return batch.put(
            batch.entries,
            item.entry_date,
            entries.with_recorded_at(cols, item, batch.now),
            entries.same_entry(cols, item.recorded_at),
            item.if_match,
        )
    if isinstance(step, PutSession):
        session_item = step.item
        if session_item.plan_id is not None and session_item.plan_id not in plans:
            return _invalid(SESSION, str(session_item.id), _relative(sessions.unknown_plan()))
        cols = sessions.session_columns(session_item)
        return batch.put(
            batch.sessions,
            session_item.id,
            cols,
            sessions.same_session(cols),
            session_item.if_match,
        )
    if isinstance(step, Delete):
        table = batch.entries if step.kind == ENTRY else batch.sessions
        return batch.delete(table, step.key, step.if_match)
    return step
