"""Exercise plans over HTTP: a clinician on the care team writes, the patient and the care team
read."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app.auth.dependencies import CurrentActor
from app.care.guards import CareTeamPatient, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.diary import plans
from app.diary.schemas import ExercisePlanIn, ExercisePlanOut, ExercisePlanPatch
from app.diary.vocabulary import Activity
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import ETAG_HEADER, LOCATION_HEADER, PROBLEM_RESPONSES
from app.pagination import Cursor, Limit, Page
from app.records.http import PRECONDITION, IfMatch, with_etag
from app.records.schemas import RevisionList
from app.records.versioned import list_revisions
from app.schemas import IsoDate

router = APIRouter(
    prefix="/v1/patients/{pid}/exercise-plans",
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    tags=["exercise"],
    summary="Prescribe an exercise plan (a clinician on the care team)",
    responses={201: {"description": "Prescribed", "headers": ETAG_HEADER | LOCATION_HEADER}},
    dependencies=[Idempotent],
)
def create_exercise_plan(
    body: ExercisePlanIn,
    patient: CareTeamPatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
) -> ExercisePlanOut:
    row = plans.create_plan(session, patient, body, now=now, clinician_id=actor.user_id)
    with_etag(response, row.version)
    response.headers["Location"] = f"/v1/patients/{patient.id}/exercise-plans/{row.id}"
    return plans.plan_out(row)


@router.get(
    "",
    tags=["exercise"],
    summary="List exercise plans by start date (filters: active_on, activity)",
)
def list_exercise_plans(
    patient: ReadablePatient,
    session: SessionDep,
    active_on: IsoDate | None = None,
    activity: Activity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ExercisePlanOut]:
    rows, nxt = plans.list_plans(
        session, patient, active_on=active_on, activity=activity, limit=limit, cursor=cursor
    )
    return Page[ExercisePlanOut](items=[plans.plan_out(r) for r in rows], next_cursor=nxt)


@router.get(
    "/{plan_id}",
    tags=["exercise"],
    summary="Read an exercise plan",
    responses={200: {"description": "The plan", "headers": ETAG_HEADER}},
)
def get_exercise_plan(
    plan_id: uuid.UUID, patient: ReadablePatient, session: SessionDep, response: Response
) -> ExercisePlanOut:
    row = plans.get_plan(session, patient, plan_id)
    with_etag(response, row.version)
    return plans.plan_out(row)


@router.patch(
    "/{plan_id}",
    tags=["exercise"],
    responses=PRECONDITION | {200: {"description": "Changed", "headers": ETAG_HEADER}},
    summary="Change an exercise plan (a clinician on the care team); the old version is kept",
)
def patch_exercise_plan(
    plan_id: uuid.UUID,
    body: ExercisePlanPatch,
    patient: CareTeamPatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> ExercisePlanOut:
    row = plans.update_plan(
        session, patient, plan_id, body, now=now, actor_id=actor.user_id, if_match=if_match
    )
    with_etag(response, row.version)
    return plans.plan_out(row)


@router.get(
    "/{plan_id}/revisions",
    tags=["exercise"],
    summary="Every earlier version of the plan",
)
def list_exercise_plan_revisions(
    plan_id: uuid.UUID, patient: ReadablePatient, session: SessionDep
) -> RevisionList:
    return RevisionList(items=list_revisions(session, plans.PLAN, patient.id, plan_id))
