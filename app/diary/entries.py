"""Daily symptom entries: create, replace, delete with preconditions and kept history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlmodel import Session, col

from app.care.models import Patient
from app.care.single_hop import PutSpec
from app.diary.models import SymptomEntry
from app.diary.schemas import Analgesics, Knee, Knees, SymptomEntryIn, SymptomEntryOut
from app.diary.vocabulary import KNEE_FIELDS, SIDE_COLUMNS
from app.errors import NotFound, Unprocessable
from app.pagination import decode_cursor, encode_cursor
from app.records.changes import ChangeRecord
from app.records.versioned import (
    VersionedKind,
    delete_versioned,
    etag_of,
    get_versioned_row,
    put_versioned,
)
from app.schemas import IsoDate

ENTRY_FIELDS = ("morning_stiffness_minutes", "flare", "falls", "notes")
ENTRY_KIND = "symptom_entry"


# The earliest time zone on Earth (Kiribati, UTC+14): its "today" is the latest date any
# phone can show (SPEC §2).
EARLIEST_ZONE = dt.timezone(dt.timedelta(hours=14))


def check_not_future(entry_date: dt.date, now: dt.datetime) -> None:
    """An entry date may not be later than today in UTC+14: a travelling phone's "today" is
    accepted; the profile's time zone still defines day boundaries for trends."""
    latest = now.astimezone(EARLIEST_ZONE).date()
    if entry_date > latest:
        raise Unprocessable(
            f"entry_date is after today in the earliest time zone (UTC+14: {latest.isoformat()})",
            loc=["path", "entry_date"],
        )


def _knee_from_row(row: Any, side: str) -> Knee | None:
    values = {f: getattr(row, column) for f, column in SIDE_COLUMNS[side]}
    if all(v is None for v in values.values()):
        return None
    return Knee(**values)


def analgesics_json(row: Any) -> dict[str, Any] | None:
    """The entry's `analgesics` object from its two columns (null when none was given)."""
    if row.analgesic_doses is None:
        return None
    return {"doses": row.analgesic_doses, "kinds": list(row.analgesic_kinds or [])}


def entry_out(row: Any) -> SymptomEntryOut:
    analgesics = analgesics_json(row)
    return SymptomEntryOut(
        entry_date=row.entry_date,
        knees=Knees(left=_knee_from_row(row, "left"), right=_knee_from_row(row, "right")),
        morning_stiffness_minutes=row.morning_stiffness_minutes,
        flare=row.flare,
        falls=row.falls,
        analgesics=Analgesics(**analgesics) if analgesics is not None else None,
        notes=row.notes,
        recorded_at=row.recorded_at,
        version=row.version,
        etag=etag_of(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def entry_payload(row: Any) -> dict[str, Any]:
    """The entry as the API shows it, for a revision."""
    return entry_out(row).model_dump(mode="json", exclude={"etag"}, exclude_none=True)


def entry_columns(body: SymptomEntryIn) -> dict[str, Any]:
    cols: dict[str, Any] = {}
    for side, pairs in SIDE_COLUMNS.items():
        knee = getattr(body.knees, side)
        values = knee.__dict__ if knee is not None else {}
        for field, column in pairs:
            cols[column] = values.get(field)
    for f in ENTRY_FIELDS:
        cols[f] = getattr(body, f)
    a = body.analgesics
    cols["analgesic_doses"] = a.doses if a is not None else None
    cols["analgesic_kinds"] = list(a.kinds) if a is not None else None
    return cols


def same_content(row: Any, cols: dict[str, Any], recorded_at: dt.datetime | None) -> bool:
    if any(getattr(row, k) != v for k, v in cols.items()):
        return False
    return recorded_at is None or recorded_at == row.recorded_at


def get_row(
    session: Session, patient_id: uuid.UUID, entry_date: dt.date, *, for_update: bool = False
) -> SymptomEntry | None:
    return get_versioned_row(session, ENTRY, patient_id, entry_date, for_update=for_update)


def with_recorded_at(
    cols: dict[str, Any], body: SymptomEntryIn, now: dt.datetime
) -> dict[str, Any]:
    return {**cols, "recorded_at": (body.recorded_at or now).astimezone(dt.UTC)}


def same_entry(cols: dict[str, Any], recorded_at: dt.datetime | None) -> Callable[[Any], bool]:
    return lambda row: same_content(row, cols, recorded_at)


# One knee's columns in API field order, read in one call (entry_json runs once per item of a
# batch).
_KNEE_FIELDS = tuple(KNEE_FIELDS)
_SIDE_READERS = {
    side: attrgetter(*(column for _f, column in pairs)) for side, pairs in SIDE_COLUMNS.items()
}


@lru_cache(maxsize=256)  # a batch stamps most rows with the same instant
def _instant_json(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def entry_json(row: Any) -> dict[str, Any]:
    """`entry_out(row).model_dump(mode="json")` built directly: the batch sync makes hundreds
    per call (a test holds the two equal)."""
    knees: dict[str, Any] = {}
    for side, read in _SIDE_READERS.items():
        values = read(row)
        if values.count(None) == len(values):
            knees[side] = None
        else:
            knees[side] = dict(zip(_KNEE_FIELDS, values, strict=True))
    return {
        "entry_date": row.entry_date.isoformat(),
        "knees": knees,
        "morning_stiffness_minutes": row.morning_stiffness_minutes,
        "flare": row.flare,
        "falls": row.falls,
        "analgesics": analgesics_json(row),
        "notes": row.notes,
        "recorded_at": _instant_json(row.recorded_at),
        "version": row.version,
        "etag": etag_of(row.version),
        "created_at": _instant_json(row.created_at),
        "updated_at": _instant_json(row.updated_at),
    }


def entry_change(row: Any, *, deleted: bool = False) -> ChangeRecord:
    return ChangeRecord(
        kind=ENTRY_KIND,
        key=row.entry_date.isoformat(),
        op="delete" if deleted else "upsert",
        version=row.version,
        data=None if deleted else entry_json(row),
        touches=row.entry_date,
    )


ENTRY: VersionedKind[SymptomEntry] = VersionedKind(
    kind=ENTRY_KIND,
    model=SymptomEntry,
    key_column="entry_date",
    key_text=lambda d: d.isoformat(),
    payload=entry_payload,
    change=entry_change,
)


def put_entry(
    session: Session,
    patient: Patient,
    entry_date: dt.date,
    body: SymptomEntryIn,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> tuple[SymptomEntry, str]:
    """Create or replace. Returns the row and what happened: created | updated | unchanged."""
    check_not_future(entry_date, now)
    cols = entry_columns(body)
    return put_versioned(
        session,
        ENTRY,
        patient.id,
        entry_date,
        with_recorded_at(cols, body, now),
        same_entry(cols, body.recorded_at),
        now=now,
        actor_id=actor_id,
        if_match=if_match,
        if_none_match=if_none_match,
    )


def _columns_of_body(
    body: bytes, entry_date: dt.date, now: dt.datetime
) -> tuple[dict[str, Any], Callable[[Any], bool]]:
    """`put_entry`'s columns and content test from the raw body, validated as the route's body
    parameter is (raises ValueError or AppError where the general path answers 422)."""
    entry = SymptomEntryIn.model_validate(orjson.loads(body))
    check_not_future(entry_date, now)
    cols = entry_columns(entry)
    return with_recorded_at(cols, entry, now), same_entry(cols, entry.recorded_at)


# The single-hop PUT (app/care/single_hop.py) of an entry.
ENTRY_PUT = PutSpec(
    kind=ENTRY,
    key_param="entry_date",
    key=TypeAdapter(IsoDate).validate_python,
    columns=_columns_of_body,
)


def delete_entry(
    session: Session,
    patient: Patient,
    entry_date: dt.date,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> SymptomEntry:
    return delete_versioned(
        session, ENTRY, patient.id, entry_date, now=now, actor_id=actor_id, if_match=if_match
    )


def get_entry(session: Session, patient: Patient, entry_date: dt.date) -> SymptomEntry:
    row = get_row(session, patient.id, entry_date)
    if row is None or row.deleted_at is not None:
        raise NotFound()
    return row


def list_entries(
    session: Session,
    patient: Patient,
    *,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[SymptomEntry], str | None]:
    q = select(SymptomEntry).where(
        col(SymptomEntry.patient_id) == patient.id, col(SymptomEntry.deleted_at).is_(None)
    )
    if date_from is not None:
        q = q.where(col(SymptomEntry.entry_date) >= date_from)
    if date_to is not None:
        q = q.where(col(SymptomEntry.entry_date) <= date_to)
    if cursor is not None:
        after = decode_cursor(cursor, ("d",))
        try:
            q = q.where(col(SymptomEntry.entry_date) > dt.date.fromisoformat(after["d"]))
        except (TypeError, ValueError) as exc:
            raise Unprocessable("Invalid cursor", loc=["query", "cursor"]) from exc
    rows = list(session.scalars(q.order_by(col(SymptomEntry.entry_date)).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor({"d": rows[-1].entry_date.isoformat()})
    return rows, next_cursor
