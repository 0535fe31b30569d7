from __future__ import annotations

import orjson
from fastapi import APIRouter, Response

from app.care.guards import OwnedPatient, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import PROBLEM_RESPONSES
from app.pagination import Cursor, Limit
from app.records import changes
from app.records.versioned import etag_of
from app.responses import json_response
from app.sync import service
from app.sync.schemas import ChangeOut, ChangesPage, SyncIn, SyncOut

router = APIRouter(
    prefix="/v1/patients/{pid}", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute
)


@router.post(
    "/sync",
    tags=["sync"],
    summary="Apply many diary writes at once; each item is answered on its own, in input order",
    dependencies=[Idempotent],
    response_model=SyncOut,
)
def sync(
    body: SyncIn, patient: OwnedPatient, session: SessionDep, now: Now, response: Response
) -> Response:
    results = service.apply_batch(session, patient, body, now=now, actor_id=patient.id)
    # Serialised directly: validating hundreds of results against SyncOut again costs more
    # than the database work (the service builds them in SyncResult's shape).
    return json_response(orjson.dumps({"results": results}), response)


@router.get(
    "/changes",
    tags=["sync"],
    summary="Everything created, changed or deleted since the cursor, in commit order",
)
def list_changes(
    patient: ReadablePatient, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> ChangesPage:
    rows, next_cursor, has_more = changes.read_changes(
        session, patient.id, cursor=cursor, limit=limit
    )
    return ChangesPage(
        items=[
            ChangeOut(
                kind=r.kind,
                key=r.record_key,
                op=r.op,
                version=r.version,
                etag=etag_of(r.version),
                changed_at=r.changed_at,
                data=r.data,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
        has_more=has_more,
    )
