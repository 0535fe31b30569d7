"""Daily symptom entries: create, replace, delete with preconditions and kept history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from app.care.models import Patient
from app.care.service import lock_patient
from app.diary.models import Revision, SymptomEntry
from app.diary.schemas import Knee, Knees, RevisionOut, SymptomEntryIn, SymptomEntryOut
from app.errors import NotFound, PreconditionFailed, Unprocessable
from app.pagination import decode_cursor, encode_cursor
from app.sync.changes import ChangeRecord, record_changes

KNEE_COLUMNS = {  # API field -> column suffix
    "pain": "pain",
    "stiffness": "stiffness",
    "swelling": "swelling",
    "warmth": "warmth",
    "giving_way": "giving_way",
    "flexion_degrees": "flexion",
    "extension_degrees": "extension",
    "rom_method": "rom_method",
}
ENTRY_FIELDS = ("morning_stiffness_minutes", "flare", "notes")
# Per side: (API field, column) pairs, e.g. ("flexion_degrees", "left_flexion").
SIDE_COLUMNS = {
    side: tuple((f, f"{side}_{c}") for f, c in KNEE_COLUMNS.items()) for side in ("left", "right")
}
ENTRY_KIND = "symptom_entry"


def local_today(patient: Patient, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(patient.timezone)).date()


def check_not_future(patient: Patient, entry_date: dt.date, now: dt.datetime) -> None:
    today = local_today(patient, now)
    if entry_date > today:
        raise Unprocessable(
            f"entry_date is after today ({today.isoformat()}) in the patient's time zone",
            loc=["path", "entry_date"],
        )


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


def _knee_from_row(row: Any, side: str) -> Knee | None:
    values = {f: getattr(row, column) for f, column in SIDE_COLUMNS[side]}
    if all(v is None for v in values.values()):
        return None
    return Knee(**values)


def entry_out(row: Any) -> SymptomEntryOut:
    return SymptomEntryOut(
        entry_date=row.entry_date,
        knees=Knees(left=_knee_from_row(row, "left"), right=_knee_from_row(row, "right")),
        morning_stiffness_minutes=row.morning_stiffness_minutes,
        flare=row.flare,
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
    return cols


def same_content(row: Any, cols: dict[str, Any], recorded_at: dt.datetime | None) -> bool:
    if any(getattr(row, k) != v for k, v in cols.items()):
        return False
    return recorded_at is None or recorded_at == row.recorded_at


def get_row(
    session: Session, patient_id: uuid.UUID, entry_date: dt.date, *, for_update: bool = False
) -> SymptomEntry | None:
    q = select(SymptomEntry).where(
        col(SymptomEntry.patient_id) == patient_id, col(SymptomEntry.entry_date) == entry_date
    )
    if for_update:
        q = q.with_for_update()
    return session.scalars(q).first()


# --- the rules of a write, shared by the single-record routes and the batch sync ------------
# They take the current row (an ORM object or any object with the same attributes; None when
# there is none) and decide; the callers apply the result in their own way.

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


def with_recorded_at(
    cols: dict[str, Any], body: SymptomEntryIn, now: dt.datetime
) -> dict[str, Any]:
    return {**cols, "recorded_at": (body.recorded_at or now).astimezone(dt.UTC)}


def same_entry(cols: dict[str, Any], recorded_at: dt.datetime | None) -> Callable[[Any], bool]:
    return lambda row: same_content(row, cols, recorded_at)


@lru_cache(maxsize=256)  # a batch stamps most rows with the same instant
def _instant_json(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def entry_json(row: Any) -> dict[str, Any]:
    """`entry_out(row).model_dump(mode="json")` built directly: the batch sync makes hundreds
    per call (a test holds the two equal)."""
    knees: dict[str, Any] = {}
    for side, pairs in SIDE_COLUMNS.items():
        knee = {f: getattr(row, column) for f, column in pairs}
        knees[side] = None if all(v is None for v in knee.values()) else knee
    return {
        "entry_date": row.entry_date.isoformat(),
        "knees": knees,
        "morning_stiffness_minutes": row.morning_stiffness_minutes,
        "flare": row.flare,
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
    check_not_future(patient, entry_date, now)
    lock_patient(session, patient.id)
    row = get_row(session, patient.id, entry_date, for_update=True)
    cols = entry_columns(body)
    outcome = decide_put(
        row,
        same_entry(cols, body.recorded_at),
        if_match=if_match,
        if_none_match=if_none_match,
    )
    if outcome == "unchanged":
        assert row is not None
        return row, outcome
    if outcome == "updated":
        assert row is not None
        save_revision(
            session,
            patient_id=patient.id,
            kind=ENTRY_KIND,
            key=entry_date.isoformat(),
            version=row.version,
            reason="replaced",
            payload=entry_payload(row),
            now=now,
            actor_id=actor_id,
        )
    values = written_values(row, with_recorded_at(cols, body, now), now)
    if row is None:
        row = SymptomEntry(patient_id=patient.id, entry_date=entry_date, **values)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    session.add(row)
    session.flush()
    record_changes(session, patient.id, [entry_change(row)], now=now)
    return row, outcome


def delete_entry(
    session: Session,
    patient: Patient,
    entry_date: dt.date,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> SymptomEntry:
    lock_patient(session, patient.id)
    row = get_row(session, patient.id, entry_date, for_update=True)
    decide_delete(row, if_match=if_match)
    assert row is not None
    save_revision(
        session,
        patient_id=patient.id,
        kind=ENTRY_KIND,
        key=entry_date.isoformat(),
        version=row.version,
        reason="deleted",
        payload=entry_payload(row),
        now=now,
        actor_id=actor_id,
    )
    for k, v in deleted_values(row, now).items():
        setattr(row, k, v)
    session.add(row)
    session.flush()
    record_changes(session, patient.id, [entry_change(row, deleted=True)], now=now)
    return row


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


def list_revisions(
    session: Session, patient: Patient, *, kind: str, key: str, exists: bool
) -> list[RevisionOut]:
    if not exists:
        raise NotFound()
    rows = session.scalars(
        select(Revision)
        .where(
            col(Revision.patient_id) == patient.id,
            col(Revision.kind) == kind,
            col(Revision.record_key) == key,
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
