"""The one access policy: who may read a patient's record, as a query filter.

A patient may read and write their own record. A clinician may read the records of patients
whose care team they are on (an active, unrevoked membership) and write clinical content
(plans, notes) for them. Nobody else, admins included, sees health data. Everything a caller
may not see answers 404, exactly like a record that does not exist (the guards in
`guards.py` apply this to every `{pid}` route)."""

from __future__ import annotations

import uuid
from functools import lru_cache

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlmodel import Session, col

from app.auth.dependencies import (
    BEARER_FAMILY,
    BEARER_USER,
    Actor,
    active_sign_in,
    bearer_session,
    parse_pid,
)
from app.auth.models import User
from app.care.models import CareTeamMember, Patient
from app.errors import Forbidden, NotFound
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
    """The statement of `bearer_with_patient`, built once: its parameters are bound at each
    execution (SQLAlchemy then reuses the statement's cache key and compiled form)."""
    query = (
        select(col(User.role), col(User.display_name), Patient)
        .join(Patient, and_(col(Patient.id) == _PATIENT, _readable_by_user()))
        .where(active_sign_in(BEARER_USER, BEARER_FAMILY))
    )
    return query.with_for_update(of=Patient) if lock else query


def bearer_with_patient(
    session: Session, token: str, pid: str, *, lock: bool
) -> tuple[Actor, Patient] | None:
    """The caller of a bearer token and the patient at `{pid}` in one statement, when the
    token is valid and the caller may read that record; None otherwise (the caller then
    takes the usual two steps, which tell 401 from 404)."""
    claimed = bearer_session(token)
    # `me` is checked against the caller's role below, once the statement has read it.
    patient_id = parse_pid(pid, me=claimed.user_id)
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


def only_the_patient(actor: Actor, patient: Patient) -> None:
    if patient.id != actor.user_id:
        raise Forbidden("Only the patient may change this")


def only_a_clinician(actor: Actor, _patient: Patient) -> None:
    if not actor.is_clinician:
        raise Forbidden("Only a clinician on the care team may change this")
