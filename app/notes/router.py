"""Clinical notes over HTTP: a clinician on the care team writes, the patient and the care team
read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentActor
from app.care.guards import CareTeamPatient, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.notes import service
from app.notes.models import TOPIC_MAX_CHARS
from app.notes.schemas import ClinicalNoteIn, ClinicalNoteOut
from app.openapi import LOCATION_HEADER, PROBLEM_RESPONSES
from app.pagination import Cursor, Limit, Page
from app.schemas import Text

router = APIRouter(
    prefix="/v1/patients/{pid}/notes",
    tags=["notes"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Write a clinical note (a clinician on the care team); notes are never changed",
    dependencies=[Idempotent],
    responses={201: {"description": "Written", "headers": LOCATION_HEADER}},
)
def create_note(
    body: ClinicalNoteIn,
    patient: CareTeamPatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
) -> ClinicalNoteOut:
    row = service.create_note(session, patient, body, now=now, clinician_id=actor.user_id)
    response.headers["Location"] = f"/v1/patients/{patient.id}/notes/{row.id}"
    return service.note_out(row)


@router.get("", summary="List clinical notes, oldest first (filter: topic)")
def list_notes(
    patient: ReadablePatient,
    session: SessionDep,
    topic: Annotated[
        Text | None, Query(min_length=1, max_length=TOPIC_MAX_CHARS, description="Exact topic")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ClinicalNoteOut]:
    rows, nxt = service.list_notes(session, patient, topic=topic, limit=limit, cursor=cursor)
    return Page[ClinicalNoteOut](items=[service.note_out(r) for r in rows], next_cursor=nxt)


@router.get("/{note_id}", summary="Read a clinical note")
def get_note(note_id: uuid.UUID, patient: ReadablePatient, session: SessionDep) -> ClinicalNoteOut:
    return service.note_out(service.get_note(session, patient, note_id))
