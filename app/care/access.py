"""The one access policy: who may see and change a patient's record.

A patient may read and write their own record. A clinician may read the records of patients
whose care team they are on (an active, unrevoked membership) and write clinical content
(plans, notes) for them. Nobody else, admins included, sees health data. Everything a caller
may not see answers 404, exactly like a record that does not exist.

Every route with a `{pid}` path parameter takes its patient from one of the dependencies at
the bottom of this module; `tests/care/test_access_matrix.py` fails for a route that does not.
The same dependencies write the audit record (app/audit): every read, write, export and
refused attempt on a patient's record passes through here, so it is recorded in one place.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from starlette.exceptions import HTTPException

from app.audit import service as audit
from app.auth.dependencies import (
    SCOPE_EXTENSION,
    Actor,
    CurrentActor,
    get_current_actor,
    required_scope,
)
from app.care.models import CareTeamMember, Patient
from app.db import SessionDep
from app.errors import AppError, Forbidden, NotFound


def care_team_clause(clinician_id: uuid.UUID) -> ColumnElement[bool]:
    return exists().where(
        col(CareTeamMember.patient_id) == col(Patient.id),
        col(CareTeamMember.clinician_id) == clinician_id,
        col(CareTeamMember.revoked_at).is_(None),
    )


def readable_patients_clause(actor: Actor) -> ColumnElement[bool]:
    """A filter on `Patient` selecting exactly the patients the actor may read."""
    if actor.is_patient:
        return col(Patient.id) == actor.user_id
    if actor.is_clinician:
        return care_team_clause(actor.user_id)
    return false()


def load_readable(session: Session, actor: Actor, pid: str) -> Patient:
    patient_id = actor.resolve_pid(pid)
    if patient_id is None:
        raise NotFound()
    patient = session.scalars(
        select(Patient).where(col(Patient.id) == patient_id, readable_patients_clause(actor))
    ).first()
    if patient is None:
        raise NotFound()
    return patient


PidPath = Annotated[
    str,
    Path(
        description="A patient id (UUID), or `me` for the calling patient",
        examples=["me"],
        max_length=64,
    ),
]


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception becomes, or None when the database itself failed (no
    event can be written then; the answer is 503)."""
    if isinstance(exc, AppError):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, SQLAlchemyError):
        return None
    return 500


def _only_the_patient(actor: Actor, patient: Patient) -> None:
    if patient.id != actor.user_id:
        raise Forbidden("Only the patient may change this")


def _only_a_clinician(actor: Actor, _patient: Patient) -> None:
    if not actor.is_clinician:
        raise Forbidden("Only a clinician on the care team may change this")


def _authorise(
    request: Request,
    session: Session,
    actor: Actor,
    pid: str,
    action: str,
    check: Callable[[Actor, Patient], None] | None,
) -> Patient:
    """The patient at `{pid}` if the actor may act on it; else the refusal is recorded and
    raised."""
    try:
        patient = load_readable(session, actor, pid)
        if check is not None:
            check(actor, patient)
    except AppError as exc:
        event = audit.event_for(
            request,
            actor,
            patient_id=actor.resolve_pid(pid),
            action=action,
            outcome="denied",
            status=exc.status,
        )
        audit.record_apart(session, event)
        raise
    return patient


@asynccontextmanager
async def _audited(
    request: Request,
    response: Response,
    session: Session,
    actor: Actor,
    pid: str,
    check: Callable[[Actor, Patient], None] | None = None,
) -> AsyncIterator[Patient]:
    """Authorise, hand the patient to the route, and record the attempt and its outcome: an
    allowed request's event commits with the request's own rows; a refused or failed one is
    rolled back and its event committed on its own (see app/audit/service.py).

    On the event loop but for the two steps that touch the database (authorising, and a
    failed request's event): one threadpool hop for an allowed request. Its event is only
    added to the unit of work here, and written when that commits."""
    action = required_scope(request)
    patient = await run_in_threadpool(_authorise, request, session, actor, pid, action, check)
    try:
        yield patient
    except Exception as exc:
        status = _status_of(exc)
        if status is not None:
            event = audit.event_for(
                request,
                actor,
                patient_id=patient.id,
                action=action,
                outcome="failed",
                status=status,
            )
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(
                    audit.record_apart,
                    session,
                    event,
                    keep_changes=getattr(exc, "keep_changes", False),
                )
        raise
    route_status = getattr(request.scope.get("route"), "status_code", None)
    event = audit.event_for(
        request,
        actor,
        patient_id=patient.id,
        action=action,
        outcome="allowed",
        status=response.status_code or route_status or 200,
    )
    audit.record(session, event)


async def readable_patient(
    pid: PidPath, actor: CurrentActor, session: SessionDep, request: Request, response: Response
) -> AsyncIterator[Patient]:
    """Anyone who may read the record: the patient, or a clinician on the care team."""
    async with _audited(request, response, session, actor, pid) as patient:
        yield patient


async def owned_patient(
    pid: PidPath, actor: CurrentActor, session: SessionDep, request: Request, response: Response
) -> AsyncIterator[Patient]:
    """The patient themself, for writes to their own diary and account. A clinician on the care
    team may see the record, so is told 403 rather than 404."""
    async with _audited(request, response, session, actor, pid, _only_the_patient) as patient:
        yield patient


async def care_team_patient(
    pid: PidPath, actor: CurrentActor, session: SessionDep, request: Request, response: Response
) -> AsyncIterator[Patient]:
    """A clinician on the patient's care team, for clinical content (plans, notes)."""
    async with _audited(request, response, session, actor, pid, _only_a_clinician) as patient:
        yield patient


async def exportable_patient(
    pid: PidPath, actor: CurrentActor, session: SessionDep, request: Request, response: Response
) -> AsyncIterator[Patient]:
    """Like `readable_patient`, for exports: an API key needs the `export` scope (not `read`),
    and the audit record says `export`. Routes using it are marked at start-up
    (`mark_api_key_scopes`), so that `CurrentActor` asks for that scope."""
    async with _audited(request, response, session, actor, pid) as patient:
        yield patient


def is_readable(session: Session, actor: Actor, patient_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(true()).where(col(Patient.id) == patient_id, readable_patients_clause(actor))
        )
        is not None
    )


# Function scope: they write the audit event before the unit of work commits.
ReadablePatient = Annotated[Patient, Depends(readable_patient, scope="function")]
OwnedPatient = Annotated[Patient, Depends(owned_patient, scope="function")]
CareTeamPatient = Annotated[Patient, Depends(care_team_patient, scope="function")]
ExportablePatient = Annotated[Patient, Depends(exportable_patient, scope="function")]
ACCESS_DEPENDENCIES = (readable_patient, owned_patient, care_team_patient, exportable_patient)


def _calls(dependant: Dependant) -> set[Callable[..., object]]:
    calls: set[Callable[..., object]] = {dependant.call} if dependant.call else set()
    for sub in dependant.dependencies:
        calls |= _calls(sub)
    return calls


def mark_api_key_scopes(routes: Iterable[APIRoute]) -> None:
    """Write each authenticated operation's API key scope into its OpenAPI operation
    (`x-api-key-scope`), where `CurrentActor` reads it: `export` for routes that take an
    `ExportablePatient`, otherwise `read` for GET and `write` for other methods."""
    for route in routes:
        calls = _calls(route.dependant)
        if get_current_actor not in calls:
            continue
        extra = route.openapi_extra or {}
        if exportable_patient in calls:
            scope = "export"
        elif isinstance(extra.get(SCOPE_EXTENSION), str):
            continue
        else:
            scope = "write" if (route.methods or set()) - {"GET", "HEAD", "OPTIONS"} else "read"
        route.openapi_extra = {**extra, SCOPE_EXTENSION: scope}
