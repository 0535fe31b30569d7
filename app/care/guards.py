"""The guards of a patient's record: the dependencies every `{pid}` route takes its patient
from, applying the one access policy (`policy.py`); anything a caller may not see answers 404,
exactly like a record that does not exist.

Every route with a `{pid}` path parameter takes its patient from one of the dependencies at
the bottom of this module; `tests/care/test_access_matrix.py` fails for a route that does not.
The same dependencies write the audit record (app/audit): every read, write, export and
refused attempt on a patient's record passes through here, so it is recorded in one place.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.exceptions import HTTPException

from app.audit import service as audit
from app.auth.dependencies import (
    Actor,
    Credentials,
    CredentialsDep,
    CurrentActor,
    authenticate,
    remembered_actor,
)
from app.auth.scopes import required_scope
from app.care.models import Patient
from app.care.policy import bearer_with_patient, load_readable, only_a_clinician, only_the_patient
from app.clock import Now
from app.db import SessionDep
from app.errors import AppError
from app.records.http import IfMatch

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


def _authorise(
    request: Request,
    session: Session,
    credentials: Credentials,
    pid: str,
    action: str,
    check: Callable[[Actor, Patient], None] | None,
) -> tuple[Actor, Patient]:
    """Who is calling and the patient at `{pid}`, if the caller may act on it; else the
    refusal is recorded and raised. A write's patient is locked as it is read (the endpoint
    would lock it next); a bearer token and the patient are read in one statement."""
    lock = action == "write"
    found = None
    if credentials.bearer is not None and remembered_actor(request) is None:
        found = bearer_with_patient(session, credentials.bearer, pid, lock=lock)
    actor = authenticate(request, session, credentials, found=found[0] if found else None)
    try:
        patient = found[1] if found else load_readable(session, actor, pid, lock=lock)
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
    return actor, patient


@asynccontextmanager
async def _audited(
    request: Request,
    response: Response,
    session: Session,
    credentials: Credentials,
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
    actor, patient = await run_in_threadpool(
        _authorise, request, session, credentials, pid, action, check
    )
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


Check = Callable[[Actor, Patient], None]


def guard(name: str, check: Check | None, doc: str) -> Callable[..., AsyncIterator[Patient]]:
    """A `{pid}` dependency: the caller authorised by the policy (and by `check`), the attempt
    and its outcome audited."""

    async def dependency(
        pid: PidPath,
        credentials: CredentialsDep,
        session: SessionDep,
        request: Request,
        response: Response,
    ) -> AsyncIterator[Patient]:
        async with _audited(request, response, session, credentials, pid, check) as patient:
            yield patient

    dependency.__name__ = dependency.__qualname__ = name
    dependency.__doc__ = doc
    return dependency


readable_patient = guard(
    "readable_patient",
    None,
    "Anyone who may read the record: the patient, or a clinician on the care team.",
)
owned_patient = guard(
    "owned_patient",
    only_the_patient,
    "The patient themself, for writes to their own diary and account. A clinician on the care "
    "team may see the record, so is told 403 rather than 404.",
)
care_team_patient = guard(
    "care_team_patient",
    only_a_clinician,
    "A clinician on the patient's care team, for clinical content (plans, notes).",
)
# Like `readable_patient`, for exports: an API key needs the `export` scope (not `read`), and
# the audit record says `export`. Routes using it are marked at start-up (app.main calls
# `mark_api_key_scopes`), so that `CurrentActor` asks for that scope.
exportable_patient = guard(
    "exportable_patient", None, "Anyone who may read the record, for an export."
)

# Function scope: they write the audit event before the unit of work commits.
ReadablePatient = Annotated[Patient, Depends(readable_patient, scope="function")]
OwnedPatient = Annotated[Patient, Depends(owned_patient, scope="function")]
CareTeamPatient = Annotated[Patient, Depends(care_team_patient, scope="function")]
ExportablePatient = Annotated[Patient, Depends(exportable_patient, scope="function")]
ACCESS_DEPENDENCIES = (readable_patient, owned_patient, care_team_patient, exportable_patient)


@dataclass(frozen=True)
class Deletion:
    """A conditional delete by the patient or a clinician on the care team: who deletes, when,
    on which condition, in which unit of work."""

    session: Session
    actor_id: uuid.UUID
    now: dt.datetime
    if_match: str | None


def deletion(
    session: SessionDep, actor: CurrentActor, now: Now, if_match: IfMatch = None
) -> Deletion:
    return Deletion(session, actor.user_id, now, if_match)


DeletionDep = Annotated[Deletion, Depends(deletion)]
