"""Exercise sessions: idempotent PUT with a client id, POST with a server id, history kept."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlmodel import Session, col

from app.care.models import Patient
from app.care.single_hop import Defer, PutSpec
from app.diary.models import ExercisePlan, ExerciseSession
from app.diary.plans import plan_exists
from app.diary.schemas import ExerciseSessionIn, ExerciseSessionOut
from app.errors import NotFound, Unprocessable
from app.pagination import keyset_page
from app.records.changes import ChangeRecord
from app.records.versioned import (
    VersionedKind,
    delete_versioned,
    etag_of,
    get_versioned_row,
    put_versioned,
)
from app.schemas import DATE_MIN

# A session may be logged up to this far ahead of the server clock (device clock skew).
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
SESSION_KIND = "exercise_session"
SESSION_FIELDS = tuple(f for f in ExerciseSessionIn.model_fields if f not in ("started_at",))


def session_out(row: Any) -> ExerciseSessionOut:
    offset = dt.timezone(dt.timedelta(minutes=row.utc_offset_minutes))
    data = {f: getattr(row, f) for f in SESSION_FIELDS}
    return ExerciseSessionOut(
        **data,
        id=row.id,
        started_at=row.started_at.astimezone(offset),
        local_date=row.local_date,
        version=row.version,
        etag=etag_of(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def session_payload(row: Any) -> dict[str, Any]:
    return session_out(row).model_dump(mode="json", exclude={"etag"}, exclude_none=True)


def session_columns(body: ExerciseSessionIn) -> dict[str, Any]:
    cols: dict[str, Any] = {f: getattr(body, f) for f in SESSION_FIELDS}
    if body.exercises is not None:
        cols["exercises"] = [e.model_dump(exclude_none=True) for e in body.exercises]
    offset = body.started_at.utcoffset() or dt.timedelta(0)
    cols["utc_offset_minutes"] = int(offset.total_seconds() // 60)
    cols["local_date"] = body.started_at.date()
    cols["started_at"] = body.started_at.astimezone(dt.UTC)
    return cols


def check_started_at(body: ExerciseSessionIn, now: dt.datetime) -> None:
    if body.started_at > now + FUTURE_TOLERANCE:
        raise Unprocessable("started_at is in the future", loc=["body", "started_at"])


def unknown_plan() -> Unprocessable:
    return Unprocessable("plan_id names no exercise plan of this patient", loc=["body", "plan_id"])


def check_plan(session: Session, patient_id: uuid.UUID, body: ExerciseSessionIn) -> None:
    if body.plan_id is not None and not plan_exists(session, patient_id, body.plan_id):
        raise unknown_plan()


def existing_plans(
    session: Session, patient_id: uuid.UUID, plan_ids: set[uuid.UUID | None]
) -> set[uuid.UUID]:
    """Which of these ids name plans of the patient, in one query (for the batch sync)."""
    wanted = {i for i in plan_ids if i is not None}
    if not wanted:
        return set()
    q = select(col(ExercisePlan.id)).where(
        col(ExercisePlan.patient_id) == patient_id, col(ExercisePlan.id).in_(wanted)
    )
    return set(session.scalars(q))


def get_row(
    session: Session, patient_id: uuid.UUID, session_id: uuid.UUID, *, for_update: bool = False
) -> ExerciseSession | None:
    return get_versioned_row(session, SESSION, patient_id, session_id, for_update=for_update)


def session_change(row: Any, *, deleted: bool = False) -> ChangeRecord:
    return ChangeRecord(
        kind=SESSION_KIND,
        key=str(row.id),
        op="delete" if deleted else "upsert",
        version=row.version,
        data=None if deleted else session_out(row).model_dump(mode="json"),
        # An edit may have moved the session from another date: recompute from the start.
        touches=row.local_date if row.version == 1 or deleted else DATE_MIN,
    )


def same_session(cols: dict[str, Any]) -> Callable[[Any], bool]:
    return lambda row: all(getattr(row, k) == v for k, v in cols.items())


SESSION: VersionedKind[ExerciseSession] = VersionedKind(
    kind=SESSION_KIND,
    model=ExerciseSession,
    key_column="id",
    key_text=str,
    payload=session_payload,
    change=session_change,
)


def _columns_of_body(
    body: bytes, _session_id: uuid.UUID, now: dt.datetime
) -> tuple[dict[str, Any], Callable[[Any], bool]]:
    """`put_session`'s columns and content test from the raw body, validated as the route's
    body parameter is (raises where the general path answers 422). A session naming a plan
    takes the general path, which checks that the plan is the patient's."""
    body_in = ExerciseSessionIn.model_validate(orjson.loads(body))
    if body_in.plan_id is not None:
        raise Defer
    check_started_at(body_in, now)
    cols = session_columns(body_in)
    return cols, same_session(cols)


# The single-hop PUT (app/care/single_hop.py) of a session with a client-chosen id.
SESSION_PUT = PutSpec(
    kind=SESSION,
    key_param="session_id",
    key=TypeAdapter(uuid.UUID).validate_python,
    columns=_columns_of_body,
)


def put_session(
    session: Session,
    patient: Patient,
    session_id: uuid.UUID,
    body: ExerciseSessionIn,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> tuple[ExerciseSession, str]:
    check_started_at(body, now)
    check_plan(session, patient.id, body)
    cols = session_columns(body)
    return put_versioned(
        session,
        SESSION,
        patient.id,
        session_id,
        cols,
        same_session(cols),
        now=now,
        actor_id=actor_id,
        if_match=if_match,
        if_none_match=if_none_match,
    )


def delete_session(
    session: Session,
    patient: Patient,
    session_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> ExerciseSession:
    return delete_versioned(
        session, SESSION, patient.id, session_id, now=now, actor_id=actor_id, if_match=if_match
    )


def get_session_row(session: Session, patient: Patient, session_id: uuid.UUID) -> ExerciseSession:
    row = get_row(session, patient.id, session_id)
    if row is None or row.deleted_at is not None:
        raise NotFound()
    return row


def list_sessions(
    session: Session,
    patient: Patient,
    *,
    activity: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ExerciseSession], str | None]:
    q = select(ExerciseSession).where(
        col(ExerciseSession.patient_id) == patient.id, col(ExerciseSession.deleted_at).is_(None)
    )
    if activity is not None:
        q = q.where(col(ExerciseSession.activity) == activity)
    if date_from is not None:
        q = q.where(col(ExerciseSession.local_date) >= date_from)
    if date_to is not None:
        q = q.where(col(ExerciseSession.local_date) <= date_to)
    return keyset_page(
        session,
        q,
        sort=col(ExerciseSession.started_at),
        parse=dt.datetime.fromisoformat,
        limit=limit,
        cursor=cursor,
    )
