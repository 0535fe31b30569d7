from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.care.guards import OwnedPatient, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import LOCATION_HEADER, PROBLEM_RESPONSES
from app.pagination import Cursor, DateFrom, DateTo, Limit, Page, check_date_range
from app.questionnaires import service
from app.questionnaires.schemas import Instrument, QuestionnaireIn, QuestionnaireOut

router = APIRouter(
    prefix="/v1/patients/{pid}/questionnaires",
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    tags=["questionnaires"],
    summary="Submit a completed KOOS-JR or KOOS (the patient); it is scored when stored",
    dependencies=[Idempotent],
    responses={201: {"description": "Stored and scored", "headers": LOCATION_HEADER}},
)
def create_questionnaire(
    body: QuestionnaireIn, patient: OwnedPatient, session: SessionDep, now: Now, response: Response
) -> QuestionnaireOut:
    row = service.create_response(session, patient, body, now=now)
    response.headers["Location"] = f"/v1/patients/{patient.id}/questionnaires/{row.id}"
    return service.response_out(row)


@router.get(
    "",
    tags=["questionnaires"],
    summary="List questionnaires by completion date (filters: instrument, from, to)",
)
def list_questionnaires(
    patient: ReadablePatient,
    session: SessionDep,
    instrument: Instrument | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[QuestionnaireOut]:
    check_date_range(date_from, date_to)
    rows, nxt = service.list_responses(
        session,
        patient,
        instrument=instrument,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return Page[QuestionnaireOut](items=[service.response_out(r) for r in rows], next_cursor=nxt)


@router.get("/{questionnaire_id}", tags=["questionnaires"], summary="Read a questionnaire")
def get_questionnaire(
    questionnaire_id: uuid.UUID, patient: ReadablePatient, session: SessionDep
) -> QuestionnaireOut:
    return service.response_out(service.get_response(session, patient, questionnaire_id))
