"""Flag episodes over HTTP: anyone who may read the record lists them; a clinician on the care
team reviews them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.dependencies import CurrentActor
from app.care.guards import CareTeamPatient, ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import PROBLEM_RESPONSES
from app.schemas import IsoDate
from app.trends import flag_review
from app.trends.schemas import FlagList, FlagOut, FlagReviewIn, FlagStatus

router = APIRouter(
    prefix="/v1/patients/{pid}/flags",
    tags=["trends"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


@router.get(
    "",
    summary="The patient's flag episodes, open first (SPEC §5)",
    description="For the clinician; the patient sees their own episodes except "
    "`escalation_review`, which is addressed to the clinician. docs/flags.md has the rules.",
)
def list_flags(
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    status: Annotated[
        list[FlagStatus] | None,
        Query(description="Only these statuses (repeat the parameter for several; default all)"),
    ] = None,
    since: Annotated[
        IsoDate | None, Query(description="Only episodes whose last date is on or after this")
    ] = None,
) -> FlagList:
    # `escalation_review` names treatment pathways for the clinician: never listed to the patient.
    return flag_review.list_flags(
        session, patient, statuses=status, since=since, for_patient=actor.is_patient
    )


@router.post(
    "/{flag_id}/review",
    summary="Mark a flag episode reviewed, with a note (a clinician on the care team)",
    dependencies=[Idempotent],
)
def review_flag(
    flag_id: uuid.UUID,
    body: FlagReviewIn,
    patient: CareTeamPatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
) -> FlagOut:
    return flag_review.review(
        session, patient, flag_id, clinician_id=actor.user_id, note=body.note, now=now
    )
