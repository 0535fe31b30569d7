"""The one access policy: who may see and change a patient's record.

A patient may read and write their own record. A clinician may read the records of patients
whose care team they are on (an active, unrevoked membership) and write clinical content
(plans, notes) for them. Nobody else, admins included, sees health data. Everything a caller
may not see answers 404, exactly like a record that does not exist.

Every route with a `{pid}` path parameter takes its patient from one of the dependencies at
the bottom of this module; `tests/care/test_access_matrix.py` fails for a route that does not.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path
from sqlalchemy import ColumnElement, exists, false, select, true
from sqlmodel import Session, col

from app.auth.dependencies import Actor, CurrentActor
from app.care.models import CareTeamMember, Patient
from app.db import SessionDep
from app.errors import Forbidden, NotFound


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


def resolve_pid(actor: Actor, pid: str) -> uuid.UUID | None:
    if pid == "me":
        return actor.user_id if actor.is_patient else None
    try:
        return uuid.UUID(pid)
    except ValueError:
        return None


def load_readable(session: Session, actor: Actor, pid: str) -> Patient:
    patient_id = resolve_pid(actor, pid)
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


def readable_patient(pid: PidPath, actor: CurrentActor, session: SessionDep) -> Patient:
    actor.require_scope("read")
    return load_readable(session, actor, pid)


def owned_patient(pid: PidPath, actor: CurrentActor, session: SessionDep) -> Patient:
    """The patient themself, for writes to their own diary and account. A clinician on the care
    team may see the record, so is told 403 rather than 404."""
    actor.require_scope("write")
    patient = load_readable(session, actor, pid)
    if patient.id != actor.user_id:
        raise Forbidden("Only the patient may change this")
    return patient


def care_team_patient(pid: PidPath, actor: CurrentActor, session: SessionDep) -> Patient:
    """A clinician on the patient's care team, for clinical content (plans, notes)."""
    actor.require_scope("write")
    patient = load_readable(session, actor, pid)
    if not actor.is_clinician:
        raise Forbidden("Only a clinician on the care team may change this")
    return patient


def is_readable(session: Session, actor: Actor, patient_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(true()).where(col(Patient.id) == patient_id, readable_patients_clause(actor))
        )
        is not None
    )


ReadablePatient = Annotated[Patient, Depends(readable_patient)]
OwnedPatient = Annotated[Patient, Depends(owned_patient)]
CareTeamPatient = Annotated[Patient, Depends(care_team_patient)]
ACCESS_DEPENDENCIES = (readable_patient, owned_patient, care_team_patient)
