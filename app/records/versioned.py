"""The versioned write shared by symptom entries and exercise sessions (and the rules the
batch sync applies to both): a record kept per patient under a key, with a version (its ETag),
a tombstone for a deletion, a revision for every version it supersedes and a change-feed row
for every write.

A kind is described once by a `VersionedKind`; `put_versioned` and `delete_versioned` are the
single-record write path. The batch sync (app/sync/service.py) applies the same rules
(`decide_put`, `written_values`, `decide_delete`, `deleted_values`, `revision_values`) to a
whole batch at once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, bindparam, insert, select, update
from sqlmodel import Session, SQLModel, col

from app.errors import NotFound, PreconditionFailed
from app.pagination import keyset_page
from app.records.changes import ChangeRecord, record_changes
from app.records.locks import lock_patient
from app.records.models import Revision
from app.records.schemas import RevisionOut
from app.sql import table_of

M = TypeVar("M", bound=SQLModel)


def etag_of(version: int) -> str:
    return f'"{version}"'


def parse_etags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def check_preconditions(
    current_version: int | None, *, if_match: str | None, if_none_match: str | None
) -> None:
    """RFC 9110 §13: If-Match needs a current representation whose ETag is listed (or `*`);
    `If-None-Match: *` needs there to be none."""
    if if_match is not None:
        tags = parse_etags(if_match)
        if current_version is None or ("*" not in tags and etag_of(current_version) not in tags):
            raise PreconditionFailed(
                "The entry has changed (or does not exist); fetch it and "
                "retry with its current ETag"
            )
    if if_none_match is not None and current_version is not None:
        tags = parse_etags(if_none_match)
        if "*" in tags or etag_of(current_version) in tags:
            raise PreconditionFailed("The entry already exists")


Outcome = Literal["created", "updated", "unchanged"]


def decide_put(
    current: Any,
    content_equal: Callable[[Any], bool],
    *,
    if_match: str | None,
    if_none_match: str | None,
    unchanged_wins: bool = False,
) -> Outcome:
    """Raises PreconditionFailed; otherwise says what a create-or-replace does. With
    `unchanged_wins` (batch sync), content equal to the live version is `unchanged` whatever
    the preconditions say, so that replaying a batch never reports a conflict with itself."""
    live = current is not None and current.deleted_at is None
    if unchanged_wins and live and content_equal(current):
        return "unchanged"
    check_preconditions(
        current.version if live else None, if_match=if_match, if_none_match=if_none_match
    )
    if live:
        return "unchanged" if content_equal(current) else "updated"
    return "created"


def written_values(current: Any | None, cols: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """The columns a create or replace writes. A tombstone that comes back to life keeps its
    version count, so an ETag is never reused."""
    values = dict(cols)
    values["version"] = (current.version if current is not None else 0) + 1
    values["updated_at"] = now
    if current is None or current.deleted_at is not None:
        values["created_at"] = now
        values["deleted_at"] = None
    return values


def decide_delete(current: Any | None, *, if_match: str | None) -> None:
    if current is None or current.deleted_at is not None:
        raise NotFound()
    check_preconditions(current.version, if_match=if_match, if_none_match=None)


def deleted_values(current: Any, now: dt.datetime) -> dict[str, Any]:
    return {"deleted_at": now, "updated_at": now, "version": current.version + 1}


def revision_values(
    *,
    patient_id: uuid.UUID,
    kind: str,
    key: str,
    version: int,
    reason: str,
    payload: dict[str, Any],
    now: dt.datetime,
    actor_id: uuid.UUID | None,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "patient_id": patient_id,
        "kind": kind,
        "record_key": key,
        "version": version,
        "reason": reason,
        "payload": payload,
        "superseded_at": now,
        "superseded_by": actor_id,
    }


def save_revision(session: Session, **kw: Any) -> None:
    session.add(Revision(**revision_values(**kw)))


@dataclass(frozen=True)
class VersionedKind(Generic[M]):
    """One kind of versioned record. `key_column` names the model's column that, with
    `patient_id`, identifies a record; `key_text` renders a key as revisions and the change
    feed store it; `payload` is the record as a revision keeps it; `change` is its change-feed
    row (`deleted=True` for a deletion)."""

    kind: str
    model: type[M]
    key_column: str
    key_text: Callable[[Any], str]
    payload: Callable[[Any], dict[str, Any]]
    change: Callable[..., ChangeRecord]


@lru_cache(maxsize=16)
def row_statement(kind: VersionedKind[Any], *, for_update: bool) -> Select[Any]:
    """A kind's row by patient and key, built once (bound at each execution)."""
    model: Any = kind.model
    table = table_of(model)
    q = select(model).where(
        col(model.patient_id) == bindparam("patient_id", type_=table.c.patient_id.type),
        col(getattr(model, kind.key_column))
        == bindparam("key", type_=table.c[kind.key_column].type),
    )
    return q.with_for_update() if for_update else q


def get_versioned_row(
    session: Session, kind: VersionedKind[M], patient_id: uuid.UUID, key: Any, *, for_update: bool
) -> M | None:
    row: M | None = session.scalars(
        row_statement(kind, for_update=for_update), {"patient_id": patient_id, "key": key}
    ).first()
    return row


def save_superseded(
    session: Session,
    kind: VersionedKind[M],
    row: Any,
    key: Any,
    reason: str,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
) -> None:
    """Keep `row`'s current version (about to be replaced or deleted) as a revision."""
    save_revision(
        session,
        patient_id=row.patient_id,
        kind=kind.kind,
        key=kind.key_text(key),
        version=row.version,
        reason=reason,
        payload=kind.payload(row),
        now=now,
        actor_id=actor_id,
    )


def put_versioned(
    session: Session,
    kind: VersionedKind[M],
    patient_id: uuid.UUID,
    key: Any,
    columns: dict[str, Any],
    content_equal: Callable[[Any], bool],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None,
    if_none_match: str | None,
) -> tuple[M, Outcome]:
    """Create or replace the record under `key` with `columns`. Returns the row and what
    happened: created | updated | unchanged."""
    lock_patient(session, patient_id)
    row = get_versioned_row(session, kind, patient_id, key, for_update=True)
    outcome = decide_put(row, content_equal, if_match=if_match, if_none_match=if_none_match)
    if outcome == "unchanged":
        assert row is not None
        return row, outcome
    if outcome == "updated":
        assert row is not None
        save_superseded(session, kind, row, key, "replaced", now=now, actor_id=actor_id)
    values = written_values(row, columns, now)
    if row is None:
        # A new record: one plain INSERT of its columns (the ORM's flush of a new object costs
        # several times more); the object answered is not attached to the session.
        row = kind.model(patient_id=patient_id, **{kind.key_column: key}, **values)
        table = table_of(kind.model)
        session.execute(insert(table), [{c.key: getattr(row, c.key) for c in table.columns}])
    else:
        for k, v in values.items():
            setattr(row, k, v)
        session.add(row)
        session.flush()
    record_changes(session, patient_id, [kind.change(row)], now=now)
    return row, outcome


def delete_versioned(
    session: Session,
    kind: VersionedKind[M],
    patient_id: uuid.UUID,
    key: Any,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None,
) -> M:
    """Delete the record under `key`, keeping its last version as a revision."""
    lock_patient(session, patient_id)
    row = get_versioned_row(session, kind, patient_id, key, for_update=True)
    decide_delete(row, if_match=if_match)
    assert row is not None
    save_superseded(session, kind, row, key, "deleted", now=now, actor_id=actor_id)
    values = deleted_values(row, now)
    # One UPDATE that names the patient (not the ORM's by-primary-key flush, which for a table
    # keyed by `id` alone would not say which patient's shard: tests/test_sharding.py).
    table = table_of(type(row))
    session.expunge(row)
    session.execute(
        update(table)
        .where(
            table.c.patient_id == patient_id,
            *(c == getattr(row, c.key) for c in table.primary_key.columns),
        )
        .values(**values)
    )
    for k, v in values.items():
        setattr(row, k, v)
    record_changes(session, patient_id, [kind.change(row, deleted=True)], now=now)
    return row


def list_revisions(
    session: Session, kind: VersionedKind[M], patient_id: uuid.UUID, key: Any
) -> list[RevisionOut]:
    """Every earlier version of the record, oldest first; 404 if it never existed."""
    if get_versioned_row(session, kind, patient_id, key, for_update=False) is None:
        raise NotFound()
    rows = session.scalars(
        select(Revision)
        .where(
            col(Revision.patient_id) == patient_id,
            col(Revision.kind) == kind.kind,
            col(Revision.record_key) == kind.key_text(key),
        )
        .order_by(col(Revision.version))
    ).all()
    return [
        RevisionOut(
            version=r.version,
            reason=r.reason,
            superseded_at=r.superseded_at,
            data=r.payload,
        )
        for r in rows
    ]


# --- records with a server-chosen id (treatments, function tests) ----------------------------


def create_with_new_id(
    session: Session,
    kind: VersionedKind[M],
    patient_id: uuid.UUID,
    columns: dict[str, Any],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
) -> M:
    """A new record of a kind keyed by `id`, under a fresh UUID (version 1, in the changes
    feed)."""
    row, _ = put_versioned(
        session,
        kind,
        patient_id,
        uuid.uuid4(),
        columns,
        lambda _row: False,
        now=now,
        actor_id=actor_id,
        if_match=None,
        if_none_match=None,
    )
    return row


def get_live_row(session: Session, kind: VersionedKind[M], patient_id: uuid.UUID, key: Any) -> M:
    """The record under `key`; 404 when it never existed or was deleted."""
    row = get_versioned_row(session, kind, patient_id, key, for_update=False)
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise NotFound()
    return row


def patch_versioned(
    session: Session,
    kind: VersionedKind[M],
    patient_id: uuid.UUID,
    key: Any,
    merge: Callable[[Any], dict[str, Any]],
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None,
) -> M:
    """Change some fields of the live record under `key`: `merge(row)` gives every field's new
    value (and may raise Unprocessable). The version before is kept as a revision; a patch
    that changes nothing writes nothing and keeps the ETag."""
    lock_patient(session, patient_id)
    row: Any = get_versioned_row(session, kind, patient_id, key, for_update=True)
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise NotFound()
    check_preconditions(row.version, if_match=if_match, if_none_match=None)
    merged = merge(row)
    if all(getattr(row, f) == v for f, v in merged.items()):
        return row  # type: ignore[no-any-return]
    save_superseded(session, kind, row, key, "replaced", now=now, actor_id=actor_id)
    for f, v in merged.items():
        setattr(row, f, v)
    row.version += 1
    row.updated_at = now
    session.add(row)
    session.flush()
    record_changes(session, patient_id, [kind.change(row)], now=now)
    return row  # type: ignore[no-any-return]


def live_dated_page(
    session: Session,
    model: Any,
    patient_id: uuid.UUID,
    *,
    date_column: Any,
    equals: dict[str, Any],
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Live records of one patient by ascending date (then id), filtered by equal columns
    (None = no filter) and a date range."""
    q = select(model).where(col(model.patient_id) == patient_id, col(model.deleted_at).is_(None))
    for name, value in equals.items():
        if value is not None:
            q = q.where(col(getattr(model, name)) == value)
    if date_from is not None:
        q = q.where(date_column >= date_from)
    if date_to is not None:
        q = q.where(date_column <= date_to)
    return keyset_page(
        session, q, sort=date_column, parse=dt.date.fromisoformat, limit=limit, cursor=cursor
    )
