"""Treatments over HTTP: the patient or a clinician on the care team records, changes and
deletes them; both read them and their history."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentActor
from app.care.guards import DeletionDep, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import ETAG_HEADER, LOCATION_HEADER, PROBLEM_RESPONSES
from app.pagination import Cursor, DateFrom, DateTo, Limit, Page, check_date_range
from app.records.http import PRECONDITION, IfMatch, with_etag
from app.records.schemas import RevisionList
from app.records.versioned import list_revisions
from app.treatments import service
from app.treatments.schemas import TreatmentIn, TreatmentKind, TreatmentOut, TreatmentPatch

router = APIRouter(
    prefix="/v1/patients/{pid}/treatments",
    tags=["treatments"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a treatment (the patient or a clinician on the care team)",
    responses={201: {"description": "Recorded", "headers": ETAG_HEADER | LOCATION_HEADER}},
    dependencies=[Idempotent],
)
def create_treatment(
    body: TreatmentIn,
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
) -> TreatmentOut:
    row = service.create_treatment(session, patient, body, now=now, actor_id=actor.user_id)
    with_etag(response, row.version)
    response.headers["Location"] = f"/v1/patients/{patient.id}/treatments/{row.id}"
    return service.treatment_out(row)


@router.get("", summary="List treatments by date (filters: kind, from, to)")
def list_treatments(
    patient: ReadablePatient,
    session: SessionDep,
    kind: Annotated[TreatmentKind | None, Query()] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TreatmentOut]:
    check_date_range(date_from, date_to)
    rows, nxt = service.list_treatments(
        session,
        patient,
        kind=kind,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return Page[TreatmentOut](items=[service.treatment_out(r) for r in rows], next_cursor=nxt)


@router.get(
    "/{treatment_id}",
    summary="Read a treatment",
    responses={200: {"description": "The treatment", "headers": ETAG_HEADER}},
)
def get_treatment(
    treatment_id: uuid.UUID, patient: ReadablePatient, session: SessionDep, response: Response
) -> TreatmentOut:
    row = service.get_treatment(session, patient, treatment_id)
    with_etag(response, row.version)
    return service.treatment_out(row)


@router.patch(
    "/{treatment_id}",
    responses=PRECONDITION | {200: {"description": "Changed", "headers": ETAG_HEADER}},
    summary="Change a treatment; the earlier version is kept",
)
def patch_treatment(
    treatment_id: uuid.UUID,
    body: TreatmentPatch,
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> TreatmentOut:
    row = service.update_treatment(
        session, patient, treatment_id, body, now=now, actor_id=actor.user_id, if_match=if_match
    )
    with_etag(response, row.version)
    return service.treatment_out(row)


@router.delete(
    "/{treatment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PRECONDITION,
    summary="Delete a treatment (its history is kept)",
)
def delete_treatment(
    treatment_id: uuid.UUID, patient: ReadablePatient, deletion: DeletionDep
) -> Response:
    service.delete_treatment(
        deletion.session,
        patient,
        treatment_id,
        now=deletion.now,
        actor_id=deletion.actor_id,
        if_match=deletion.if_match,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{treatment_id}/revisions", summary="Every earlier version of the treatment")
def list_treatment_revisions(
    treatment_id: uuid.UUID, patient: ReadablePatient, session: SessionDep
) -> RevisionList:
    return RevisionList(items=list_revisions(session, service.TREATMENT, patient.id, treatment_id))
