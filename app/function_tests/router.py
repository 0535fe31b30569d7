"""Function tests over HTTP: the patient or a clinician on the care team records and deletes
them; both read them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.dependencies import CurrentActor
from app.care.guards import DeletionDep, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.function_tests import service
from app.function_tests.schemas import FunctionTestIn, FunctionTestOut, TestName
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import ETAG_HEADER, LOCATION_HEADER, PROBLEM_RESPONSES
from app.pagination import Cursor, DateFrom, DateTo, Limit, Page, check_date_range
from app.records.http import PRECONDITION, with_etag
from app.records.schemas import RevisionList
from app.records.versioned import list_revisions

router = APIRouter(
    prefix="/v1/patients/{pid}/function-tests",
    tags=["function-tests"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a function test result (the patient or a clinician on the care team)",
    responses={201: {"description": "Recorded", "headers": ETAG_HEADER | LOCATION_HEADER}},
    dependencies=[Idempotent],
)
def create_function_test(
    body: FunctionTestIn,
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
) -> FunctionTestOut:
    row = service.create_test(session, patient, body, now=now, actor_id=actor.user_id)
    with_etag(response, row.version)
    response.headers["Location"] = f"/v1/patients/{patient.id}/function-tests/{row.id}"
    return service.result_out(row)


@router.get("", summary="List function test results by date (filters: test, from, to)")
def list_function_tests(
    patient: ReadablePatient,
    session: SessionDep,
    test: Annotated[TestName | None, Query()] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[FunctionTestOut]:
    check_date_range(date_from, date_to)
    rows, nxt = service.list_tests(
        session,
        patient,
        test=test,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return Page[FunctionTestOut](items=[service.result_out(r) for r in rows], next_cursor=nxt)


@router.get(
    "/{test_id}",
    summary="Read a function test result",
    responses={200: {"description": "The result", "headers": ETAG_HEADER}},
)
def get_function_test(
    test_id: uuid.UUID, patient: ReadablePatient, session: SessionDep, response: Response
) -> FunctionTestOut:
    row = service.get_test(session, patient, test_id)
    with_etag(response, row.version)
    return service.result_out(row)


@router.delete(
    "/{test_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=PRECONDITION,
    summary="Delete a function test result (its history is kept)",
)
def delete_function_test(
    test_id: uuid.UUID, patient: ReadablePatient, deletion: DeletionDep
) -> Response:
    service.delete_test(
        deletion.session,
        patient,
        test_id,
        now=deletion.now,
        actor_id=deletion.actor_id,
        if_match=deletion.if_match,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{test_id}/revisions", summary="Every earlier version of the result")
def list_function_test_revisions(
    test_id: uuid.UUID, patient: ReadablePatient, session: SessionDep
) -> RevisionList:
    return RevisionList(items=list_revisions(session, service.FUNCTION_TEST, patient.id, test_id))
