"""The clinician's panel over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.audit import service as audit
from app.auth.dependencies import ClinicianActor
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import IdempotentRoute
from app.openapi import PROBLEM_RESPONSES
from app.pagination import Cursor, Limit
from app.trends import panel
from app.trends.schemas import PanelOut

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute)


@router.get(
    "/clinicians/me/patients", tags=["clinicians"], summary="The clinician's panel of patients"
)
def clinician_panel(
    actor: ClinicianActor,
    session: SessionDep,
    now: Now,
    request: Request,
    sort: Annotated[
        panel.PanelSort,
        Query(
            description="`name` (default), or `concern`: urgent flags, then warnings, then the "
            "largest 28-day rise in pain, the steepest pain slope, info flags, name"
        ),
    ] = "name",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PanelOut:
    items, nxt = panel.panel(session, actor, now, sort, limit=limit, cursor=cursor)
    audit.record_reads(session, request, actor, [i.patient_id for i in items])
    return PanelOut(items=items, next_cursor=nxt)
