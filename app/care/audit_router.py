from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AccessLog, AccessLogItem, AuditEventOut, AuditEventPage
from app.auth.dependencies import AdminActor, CurrentActor
from app.care.guards import ReadablePatient
from app.db import SessionDep
from app.errors import Forbidden
from app.openapi import PROBLEM_RESPONSES
from app.pagination import Cursor, Limit
from app.schemas import IsoDateTime

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


@router.get(
    "/patients/{pid}/access-log",
    tags=["audit"],
    summary="Who accessed your record: every read, write, export and refused attempt",
)
def access_log(
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AccessLog:
    if patient.id != actor.user_id:
        raise Forbidden("Only the patient reads their access log")
    rows, nxt = service.list_for_patient(session, patient.id, limit=limit, cursor=cursor)
    return AccessLog(
        items=[AccessLogItem.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=nxt,
    )


@router.get(
    "/admin/audit-events",
    tags=["admin"],
    summary="The audit record, newest first (filters combine)",
)
def audit_events(
    _admin: AdminActor,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    at_from: Annotated[
        IsoDateTime | None, Query(alias="from", description="Inclusive, RFC 3339 with offset")
    ] = None,
    at_to: Annotated[
        IsoDateTime | None, Query(alias="to", description="Exclusive, RFC 3339 with offset")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditEventPage:
    rows, nxt = service.list_events(
        session,
        patient_id=patient_id,
        actor_id=actor_id,
        at_from=at_from,
        at_to=at_to,
        limit=limit,
        cursor=cursor,
    )
    return AuditEventPage(
        items=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=nxt,
    )
