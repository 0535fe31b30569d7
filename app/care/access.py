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
from functools import lru_cache
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col
from starlette.exceptions import HTTPException

from app.audit import service as audit
from app.auth.dependencies import (
    BEARER_FAMILY,
    BEARER_USER,
    SCOPE_EXTENSION,
    Actor,
    Credentials,
    CredentialsDep,
    active_sign_in,
    authenticate,
    bearer_session,
    get_current_actor,
    required_scope,
)
from app.auth.models import User
from app.care.models import CareTeamMember, Patient
from app.db import SessionDep
from app.errors import AppError, Forbidden, NotFound
from app.records.locks import mark_locked, takes_row_locks
from app.sql import bindparam as typed_param


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


def _readable_by_user() -> ColumnElement[bool]:
    """`readable_patients_clause` for the `User` of the same statement, whose role the
    statement reads."""
    return or_(
        and_(col(User.role) == "patient", col(Patient.id) == col(User.id)),
        and_(
            col(User.role) == "clinician",
            exists().where(
                col(CareTeamMember.patient_id) == col(Patient.id),
                col(CareTeamMember.clinician_id) == col(User.id),
                col(CareTeamMember.revoked_at).is_(None),
            ),
        ),
    )


_PATIENT = typed_param("patient_id", Patient, "id")


@lru_cache(maxsize=2)
def _caller_and_patient(*, lock: bool) -> Select[str, str, Patient]:
    """The statement of `_bearer_with_patient`, built once: its parameters are bound at each
    execution (SQLAlchemy then reuses the statement's cache key and compiled form)."""
    query = (
        select(col(User.role), col(User.display_name), Patient)
        .join(Patient, and_(col(Patient.id) == _PATIENT, _readable_by_user()))
        .where(active_sign_in(BEARER_USER, BEARER_FAMILY))
    )
    return query.with_for_update(of=Patient) if lock else query


def _bearer_with_patient(
    session: Session, token: str, pid: str, *, lock: bool
) -> tuple[Actor, Patient] | None:
    """The caller of a bearer token and the patient at `{pid}` in one statement, when the
    token is valid and the caller may read that record; None otherwise (the caller then
    takes the usual two steps, which tell 401 from 404)."""
    claimed = bearer_session(token)
    if pid == "me":
        patient_id: uuid.UUID | None = claimed.user_id
    else:
        try:
            patient_id = uuid.UUID(pid)
        except ValueError:
            patient_id = None
    if patient_id is None:
        return None
    lock = lock and takes_row_locks(session)
    row = session.execute(
        _caller_and_patient(lock=lock), {**claimed.params(), _PATIENT.key: patient_id}
    ).first()
    if row is None:
        return None
    if pid == "me" and row.role != "patient":
        return None
    if lock:
        mark_locked(session, patient_id)
    patient: Patient = row.Patient
    return claimed.actor(row.role, row.display_name), patient


def load_readable(session: Session, actor: Actor, pid: str, *, lock: bool = False) -> Patient:
    """The patient at `{pid}` if the actor may read the record, else 404. With `lock`, the
    patient's write lock (app/records/locks.py) is taken by the same statement, which saves a
    writer a round trip."""
    patient_id = actor.resolve_pid(pid)
    if patient_id is None:
        raise NotFound()
    query = select(Patient).where(col(Patient.id) == patient_id, readable_patients_clause(actor))
    lock = lock and takes_row_locks(session)
    patient = session.scalars(query.with_for_update(of=Patient) if lock else query).first()
    if patient is None:
        raise NotFound()
    if lock:
        mark_locked(session, patient.id)
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
    if credentials.bearer is not None and getattr(request.state, "actor", None) is None:
        found = _bearer_with_patient(session, credentials.bearer, pid, lock=lock)
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


async def readable_patient(
    pid: PidPath,
    credentials: CredentialsDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AsyncIterator[Patient]:
    """Anyone who may read the record: the patient, or a clinician on the care team."""
    async with _audited(request, response, session, credentials, pid) as patient:
        yield patient


async def owned_patient(
    pid: PidPath,
    credentials: CredentialsDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AsyncIterator[Patient]:
    """The patient themself, for writes to their own diary and account. A clinician on the care
    team may see the record, so is told 403 rather than 404."""
    async with _audited(request, response, session, credentials, pid, _only_the_patient) as patient:
        yield patient


async def care_team_patient(
    pid: PidPath,
    credentials: CredentialsDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AsyncIterator[Patient]:
    """A clinician on the patient's care team, for clinical content (plans, notes)."""
    async with _audited(request, response, session, credentials, pid, _only_a_clinician) as patient:
        yield patient


async def exportable_patient(
    pid: PidPath,
    credentials: CredentialsDep,
    session: SessionDep,
    request: Request,
    response: Response,
) -> AsyncIterator[Patient]:
    """Like `readable_patient`, for exports: an API key needs the `export` scope (not `read`),
    and the audit record says `export`. Routes using it are marked at start-up
    (`mark_api_key_scopes`), so that `CurrentActor` asks for that scope."""
    async with _audited(request, response, session, credentials, pid) as patient:
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
        if get_current_actor not in calls and not calls & set(ACCESS_DEPENDENCIES):
            continue
        extra = route.openapi_extra or {}
        if exportable_patient in calls:
            scope = "export"
        elif isinstance(extra.get(SCOPE_EXTENSION), str):
            continue
        else:
            scope = "write" if (route.methods or set()) - {"GET", "HEAD", "OPTIONS"} else "read"
        route.openapi_extra = {**extra, SCOPE_EXTENSION: scope}
