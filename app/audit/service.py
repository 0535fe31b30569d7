"""Writing and reading the access record.

An allowed request's event is written in the request's own transaction, so the business rows
and their audit row commit together or not at all. A refused or failed request rolls its work
back, then writes its event in a short transaction of its own (`record_apart`), so a denial is
kept although nothing else is. Either way, if the event cannot be written the request fails.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol

from fastapi import Request
from sqlalchemy import Row, Select, insert, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from app.audit.models import AuditEvent
from app.client_address import client_address
from app.db import utcnow
from app.pagination import cursor_int, decode_cursor, encode_cursor
from app.sql import insert_many, table_of


class Caller(Protocol):
    """Who made a request, as the audit record names them (auth's `Actor` is one)."""

    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def role(self) -> str: ...
    @property
    def via(self) -> str: ...
    @property
    def api_key_id(self) -> uuid.UUID | None: ...


USER_AGENT_CHARS = 200


def resource_of(request: Request) -> str:
    """The method and route template (`GET /v1/patients/{pid}/symptom-entries`): never the raw
    path or query, which carry ids, dates and possibly values."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', '<unmatched>')}"[:200]


def event_values(
    request: Request,
    actor: Caller,
    *,
    patient_id: uuid.UUID | None,
    action: str,
    outcome: str,
    status: int,
) -> dict[str, Any]:
    """A request's event as the columns of its row (all but `id`); `event_for` makes the model
    of it, the single-hop PUT writes it as it is."""
    agent = request.headers.get("user-agent")
    address = client_address(request)
    return {
        "at": utcnow(),
        "actor_id": actor.user_id,
        "actor_role": actor.role,
        "via": actor.via,
        "api_key_id": actor.api_key_id,
        "patient_id": patient_id,
        "action": action,
        "resource": resource_of(request),
        "outcome": outcome,
        "status": status,
        "client_ip": address.peer[:64] if address.peer else None,
        "forwarded_ip": address.forwarded,
        "user_agent": agent[:USER_AGENT_CHARS] if agent else None,
        "request_id": getattr(request.state, "request_id", None)
        or request.scope.get("state", {}).get("request_id"),
    }


def event_for(request: Request, actor: Caller, **columns: Any) -> AuditEvent:
    """The event as a model (`columns`: the keywords of `event_values`)."""
    return AuditEvent(**event_values(request, actor, **columns))


_PENDING = "kneetrack_audit_pending"


def record(session: Session, event: AuditEvent) -> None:
    """Within the request's unit of work: written when it commits, with its rows (a failure to
    write it fails the commit, and so the request). It is held until then and written as one
    plain INSERT (`_write_pending`), which costs a fraction of the ORM's flush of an object;
    a rollback drops it."""
    session.info.setdefault(_PENDING, []).append(event)


@sa_event.listens_for(OrmSession, "before_commit")
def _write_pending(session: OrmSession) -> None:
    events: list[AuditEvent] | None = session.info.pop(_PENDING, None)
    if events:
        session.execute(
            insert(table_of(AuditEvent)),
            [e.model_dump(exclude={"id"}) for e in events],
        )


@sa_event.listens_for(OrmSession, "after_rollback")
def _drop_pending(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)


def record_reads(
    session: Session, request: Request, actor: Caller, patient_ids: list[uuid.UUID]
) -> None:
    """One `read` event per patient shown by a many-patient view (the clinician's panel), in
    one round trip, so that each patient's access log shows it."""
    if not patient_ids:
        return
    # The same event for each patient but for `patient_id` and `at`: built once, then copied.
    first = event_for(
        request, actor, patient_id=None, action="read", outcome="allowed", status=200
    ).model_dump(exclude={"id"})
    at = utcnow()
    rows = [{**first, "patient_id": pid, "at": at} for pid in patient_ids]
    insert_many(session, table_of(AuditEvent), rows)  # COPY on PostgreSQL


# A refused attempt on a patient's record is written once per caller, patient and window:
# repeating it cannot fill the patient's access log (hardening finding 12); the per-caller
# rate limit bounds the attempts themselves.
DENIED_WINDOW = dt.timedelta(minutes=1)


def record_apart(session: Session, event: AuditEvent, *, keep_changes: bool = False) -> None:
    """For a refused or failed request: roll its work back (unless the error asked to keep
    it), then commit the event on its own — unless it repeats a refusal of the same caller on
    the same patient within `DENIED_WINDOW`."""
    if not keep_changes:
        session.rollback()
    if event.outcome == "denied" and event.patient_id is not None:
        repeated = session.execute(
            select(col(AuditEvent.id))
            .where(
                col(AuditEvent.patient_id) == event.patient_id,
                col(AuditEvent.actor_id) == event.actor_id,
                col(AuditEvent.outcome) == "denied",
                col(AuditEvent.at) > event.at - DENIED_WINDOW,
            )
            .order_by(col(AuditEvent.id).desc())
            .limit(1)
        ).first()
        if repeated is not None:
            session.rollback()
            return
    session.add(event)
    session.commit()


Page = tuple[list[Row[Any]], str | None]


def _page(
    session: Session, query: Select[*tuple[Any, ...]], limit: int, cursor: str | None
) -> Page:
    """Newest first, by the event's sequence number."""
    if cursor is not None:
        last = cursor_int(decode_cursor(cursor, ["id"])["id"])
        query = query.where(col(AuditEvent.id) < last)
    rows = list(session.execute(query.order_by(col(AuditEvent.id).desc()).limit(limit + 1)))
    nxt = encode_cursor({"id": rows[limit - 1].id}) if len(rows) > limit else None
    return rows[:limit], nxt


PATIENT_COLUMNS = (
    col(AuditEvent.id),
    col(AuditEvent.at),
    col(AuditEvent.actor_id),
    col(AuditEvent.actor_role),
    col(AuditEvent.via),
    col(AuditEvent.action),
    col(AuditEvent.resource),
    col(AuditEvent.outcome),
)


def list_for_patient(
    session: Session, patient_id: uuid.UUID, *, limit: int, cursor: str | None
) -> Page:
    query = select(*PATIENT_COLUMNS).where(col(AuditEvent.patient_id) == patient_id)
    return _page(session, query, limit, cursor)


def list_events(
    session: Session,
    *,
    patient_id: uuid.UUID | None,
    actor_id: uuid.UUID | None,
    at_from: dt.datetime | None,
    at_to: dt.datetime | None,
    limit: int,
    cursor: str | None,
) -> Page:
    query = select(table_of(AuditEvent))
    if patient_id is not None:
        query = query.where(col(AuditEvent.patient_id) == patient_id)
    if actor_id is not None:
        query = query.where(col(AuditEvent.actor_id) == actor_id)
    if at_from is not None:
        query = query.where(col(AuditEvent.at) >= at_from)
    if at_to is not None:
        query = query.where(col(AuditEvent.at) < at_to)
    return _page(session, query, limit, cursor)
