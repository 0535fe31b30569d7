"""The clinician's panel over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.audit import service as audit
from app.auth.dependencies import ClinicianActor
from app.db import SessionDep
from app.idempotency.dependencies import IdempotentRoute
from app.openapi import PROBLEM_RESPONSES
from app.pagination import Cursor, Limit
from app.responses import json_response
from app.trends import panel
from app.trends.schemas import PanelOut

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute)


@router.get(
    "/clinicians/me/patients",
    tags=["clinicians"],
    summary="The clinician's panel of patients",
    response_model=PanelOut,
)
def clinician_panel(
    actor: ClinicianActor,
    session: SessionDep,
    request: Request,
    response: Response,
    sort: Annotated[
        panel.PanelSort,
        Query(
            description="`name` (default), or `concern`: urgent flags, then warnings, then the "
            "largest 28-day rise in pain, the steepest pain slope, info flags, name"
        ),
    ] = "name",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    # The JSON of `PanelOut`, written from the stored state without a Pydantic object each.
    body, shown = panel.panel_json(session, actor, sort, limit=limit, cursor=cursor)
    audit.record_reads(session, request, actor, shown)
    return json_response(body, response)
