from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Response, status
from sqlmodel import Session

from app.care.guards import OwnedPatient, ReadablePatient
from app.care.models import Patient
from app.care.single_hop_route import single_hop_route
from app.clock import Now
from app.db import SessionDep
from app.diary import entries, sessions
from app.diary.schemas import (
    ExerciseSessionIn,
    ExerciseSessionOut,
    SymptomEntryIn,
    SymptomEntryOut,
)
from app.diary.vocabulary import Activity
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import ETAG_HEADER, LOCATION_HEADER, PROBLEM_RESPONSES, link
from app.pagination import Cursor, DateFrom, DateTo, Limit, Page, check_date_range
from app.records.http import (
    PRECONDITION,
    Conditional,
    IfMatch,
    IfNoneMatch,
    Preconditions,
    answer_put,
    with_etag,
)
from app.records.schemas import RevisionList
from app.records.versioned import etag_of, list_revisions, parse_etags
from app.schemas import IsoDate

router = APIRouter(
    prefix="/v1/patients/{pid}", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute
)

# Links from a write to the reads and writes of the same record, for clients and for the
# stateful phase of the conformance tests (tests/proof/test_conformance.py).
_ENTRY = {"path.pid": "$request.path.pid", "path.entry_date": "$request.path.entry_date"}
_IF_MATCH = {"header.if-match": "$response.header.ETag"}
ENTRY_LINKS = {
    "GetEntry": link("diary-get-symptom-entry", "Read the entry just written", _ENTRY),
    "DeleteEntry": link(
        "diary-delete-symptom-entry",
        "Delete the entry just written, on condition that it is unchanged",
        _ENTRY | _IF_MATCH,
    ),
    "EntryRevisions": link(
        "diary-list-symptom-entry-revisions", "The entry's earlier versions", _ENTRY
    ),
}


def _session_links(session_id: str) -> dict[str, Any]:
    ids = {"path.pid": "$request.path.pid", "path.session_id": session_id}
    return {
        "GetSession": link("exercise-get-exercise-session", "Read the session", ids),
        "DeleteSession": link(
            "exercise-delete-exercise-session",
            "Delete the session, on condition that it is unchanged",
            ids | _IF_MATCH,
        ),
        "SessionRevisions": link(
            "exercise-list-exercise-session-revisions", "The session's earlier versions", ids
        ),
    }


def _written(model: Any, links: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """A PUT's two successes: 200 (replaced or unchanged) and 201 (created)."""
    return {
        200: {"description": "Replaced, or unchanged", "headers": ETAG_HEADER, "links": links},
        201: {"model": model, "description": "Created", "headers": ETAG_HEADER, "links": links},
    }


def _put(
    put: Callable[..., tuple[Any, str]],
    key: Any,
    body: Any,
    patient: Patient,
    session: Session,
    now: dt.datetime,
    response: Response,
    conditions: Preconditions,
) -> Any:
    """A patient's create-or-replace of their own record: 201 or 200, with the ETag."""
    row, outcome = put(
        session,
        patient,
        key,
        body,
        now=now,
        actor_id=patient.id,
        if_match=conditions.if_match,
        if_none_match=conditions.if_none_match,
    )
    answer_put(response, row.version, outcome)
    return row


# --- symptom entries ------------------------------------------------------------------------


def put_symptom_entry(
    entry_date: IsoDate,
    body: SymptomEntryIn,
    patient: OwnedPatient,
    session: SessionDep,
    now: Now,
    response: Response,
    conditions: Conditional,
) -> SymptomEntryOut:
    row = _put(entries.put_entry, entry_date, body, patient, session, now, response, conditions)
    return entries.entry_out(row)


# A patient's own PUT with a bearer token takes the single-hop path on PostgreSQL
# (app/care/single_hop.py); everything else, and every error, this function. The same for
# sessions below.
router.add_api_route(
    "/symptom-entries/{entry_date}",
    put_symptom_entry,
    methods=["PUT"],
    tags=["diary"],
    responses=PRECONDITION | _written(SymptomEntryOut, ENTRY_LINKS),
    summary="Create (201) or replace (200) the diary entry for a local date",
    status_code=status.HTTP_200_OK,
    route_class_override=single_hop_route(entries.ENTRY_PUT),
)


@router.get(
    "/symptom-entries/{entry_date}",
    tags=["diary"],
    summary="Read the diary entry for a local date",
    response_model=SymptomEntryOut,
    responses={
        200: {"description": "The entry", "headers": ETAG_HEADER},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
def get_symptom_entry(
    entry_date: IsoDate,
    patient: ReadablePatient,
    session: SessionDep,
    response: Response,
    if_none_match: IfNoneMatch = None,
) -> Any:
    row = entries.get_entry(session, patient, entry_date)
    with_etag(response, row.version)
    if if_none_match and etag_of(row.version) in parse_etags(if_none_match):
        return Response(status_code=304, headers={"ETag": etag_of(row.version)})
    return entries.entry_out(row)


@router.delete(
    "/symptom-entries/{entry_date}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["diary"],
    responses=PRECONDITION,
    summary="Delete the diary entry for a local date (its history is kept)",
)
def delete_symptom_entry(
    entry_date: IsoDate,
    patient: OwnedPatient,
    session: SessionDep,
    now: Now,
    if_match: IfMatch = None,
) -> Response:
    entries.delete_entry(
        session, patient, entry_date, now=now, actor_id=patient.id, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/symptom-entries",
    tags=["diary"],
    summary="List diary entries by ascending date (cursor-paginated)",
)
def list_symptom_entries(
    patient: ReadablePatient,
    session: SessionDep,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SymptomEntryOut]:
    check_date_range(date_from, date_to)
    rows, nxt = entries.list_entries(
        session, patient, date_from=date_from, date_to=date_to, limit=limit, cursor=cursor
    )
    return Page[SymptomEntryOut](items=[entries.entry_out(r) for r in rows], next_cursor=nxt)


@router.get(
    "/symptom-entries/{entry_date}/revisions",
    tags=["diary"],
    summary="Every earlier version of the entry (replaced or deleted)",
)
def list_symptom_entry_revisions(
    entry_date: IsoDate, patient: ReadablePatient, session: SessionDep
) -> RevisionList:
    return RevisionList(items=list_revisions(session, entries.ENTRY, patient.id, entry_date))


# --- exercise sessions ----------------------------------------------------------------------


def put_exercise_session(
    session_id: uuid.UUID,
    body: ExerciseSessionIn,
    patient: OwnedPatient,
    session: SessionDep,
    now: Now,
    response: Response,
    conditions: Conditional,
) -> ExerciseSessionOut:
    row = _put(sessions.put_session, session_id, body, patient, session, now, response, conditions)
    return sessions.session_out(row)


router.add_api_route(
    "/exercise-sessions/{session_id}",
    put_exercise_session,
    methods=["PUT"],
    tags=["exercise"],
    responses=PRECONDITION
    | _written(ExerciseSessionOut, _session_links("$request.path.session_id")),
    summary="Create (201) or replace (200) an exercise session with a client-chosen id",
    route_class_override=single_hop_route(sessions.SESSION_PUT),
)


@router.post(
    "/exercise-sessions",
    status_code=status.HTTP_201_CREATED,
    tags=["exercise"],
    responses={
        201: {
            "description": "Created",
            "headers": ETAG_HEADER | LOCATION_HEADER,
            "links": _session_links("$response.body#/id"),
        }
    },
    summary="Log an exercise session with a server-chosen id",
    dependencies=[Idempotent],
)
def post_exercise_session(
    body: ExerciseSessionIn,
    patient: OwnedPatient,
    session: SessionDep,
    now: Now,
    response: Response,
) -> ExerciseSessionOut:
    session_id = uuid.uuid4()
    row, _ = sessions.put_session(session, patient, session_id, body, now=now, actor_id=patient.id)
    with_etag(response, row.version)
    response.headers["Location"] = f"/v1/patients/{patient.id}/exercise-sessions/{session_id}"
    return sessions.session_out(row)


@router.get(
    "/exercise-sessions/{session_id}",
    tags=["exercise"],
    responses={200: {"description": "The session", "headers": ETAG_HEADER}},
    summary="Read an exercise session",
)
def get_exercise_session(
    session_id: uuid.UUID, patient: ReadablePatient, session: SessionDep, response: Response
) -> ExerciseSessionOut:
    row = sessions.get_session_row(session, patient, session_id)
    with_etag(response, row.version)
    return sessions.session_out(row)


@router.get(
    "/exercise-sessions",
    tags=["exercise"],
    summary="List exercise sessions by start time (filters: activity, from, to)",
)
def list_exercise_sessions(
    patient: ReadablePatient,
    session: SessionDep,
    activity: Activity | None = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ExerciseSessionOut]:
    check_date_range(date_from, date_to)
    rows, nxt = sessions.list_sessions(
        session,
        patient,
        activity=activity,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
    return Page[ExerciseSessionOut](items=[sessions.session_out(r) for r in rows], next_cursor=nxt)


@router.delete(
    "/exercise-sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["exercise"],
    responses=PRECONDITION,
    summary="Delete an exercise session (its history is kept)",
)
def delete_exercise_session(
    session_id: uuid.UUID,
    patient: OwnedPatient,
    session: SessionDep,
    now: Now,
    if_match: IfMatch = None,
) -> Response:
    sessions.delete_session(
        session, patient, session_id, now=now, actor_id=patient.id, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/exercise-sessions/{session_id}/revisions",
    tags=["exercise"],
    summary="Every earlier version of the session (replaced or deleted)",
)
def list_exercise_session_revisions(
    session_id: uuid.UUID, patient: ReadablePatient, session: SessionDep
) -> RevisionList:
    return RevisionList(items=list_revisions(session, sessions.SESSION, patient.id, session_id))
