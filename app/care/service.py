"""Patients, care teams and invitations."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from sqlalchemy import delete, select
from sqlmodel import Session, col

from app.auth import service as auth_service
from app.auth.dependencies import Actor
from app.auth.models import User
from app.auth.schemas import RegisterIn
from app.auth.security import verify_password
from app.care.models import CareTeamMember, CareTeamRequest, Invitation, Patient
from app.care.schemas import (
    CareRequestOut,
    CareTeamMemberOut,
    GrantIn,
    GrantRequested,
    PatientOut,
    PatientPatch,
)
from app.config import get_settings
from app.errors import Forbidden, NotFound, Unauthorized
from app.records.locks import lock_patient

# Codes avoid look-alike characters (0/O, 1/I/L) since they are read out or typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def patient_out(patient: Patient, user: User, *, with_email: bool) -> PatientOut:
    return PatientOut(
        id=patient.id,
        display_name=user.display_name,
        email=user.email if with_email else None,
        timezone=patient.timezone,
        birth_year=patient.birth_year,
        sex=patient.sex,
        index_knee=patient.index_knee,
        created_at=patient.created_at,
    )


def register_patient(session: Session, body: RegisterIn) -> PatientOut:
    user = auth_service.create_user(
        session,
        email=body.email,
        password=body.password,
        role="patient",
        display_name=body.display_name,
    )
    patient = Patient(
        id=user.id,
        timezone=body.timezone,
        birth_year=body.birth_year,
        sex=body.sex,
        index_knee=body.index_knee,
    )
    session.add(patient)
    session.flush()
    return patient_out(patient, user, with_email=True)


def get_profile(session: Session, actor: Actor, patient: Patient) -> PatientOut:
    user = session.get_one(User, patient.id)
    return patient_out(patient, user, with_email=actor.user_id == patient.id)


def update_profile(
    session: Session, patient: Patient, body: PatientPatch, now: dt.datetime
) -> PatientOut:
    user = session.get_one(User, patient.id)
    data = body.model_dump(exclude_unset=True)
    if "display_name" in data:
        user.display_name = data.pop("display_name").strip()
        user.updated_at = now
    for key, value in data.items():
        setattr(patient, key, value)
    patient.updated_at = now
    session.add_all([user, patient])
    session.flush()
    return patient_out(patient, user, with_email=True)


def erase_patient(session: Session, patient: Patient, password: str) -> None:
    user = session.get_one(User, patient.id)
    if not verify_password(user.password_hash, password):
        raise Unauthorized("Password incorrect", headers={})
    # Every patient-data table references patients.id ON DELETE CASCADE; deleting the user
    # cascades to the profile and from there to every row of health data.
    session.execute(delete(User).where(col(User.id) == user.id))
    session.expunge_all()


def create_invitation(session: Session, actor: Actor, now: dt.datetime) -> Invitation:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    inv = Invitation(
        code=code,
        clinician_id=actor.user_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=get_settings().invitation_days),
    )
    session.add(inv)
    session.flush()
    return inv


def withdraw_invitation(session: Session, actor: Actor, code: str, now: dt.datetime) -> None:
    """End an open invitation of this clinician's now: it expires (the row is kept, with
    its dates). Someone else's code, an unknown one, or one already accepted or expired: 404."""
    inv = session.get(Invitation, code, with_for_update=True)
    if (
        inv is None
        or inv.clinician_id != actor.user_id
        or inv.accepted_at is not None
        or inv.expires_at <= now
    ):
        raise NotFound("No such open invitation of yours")
    inv.expires_at = now


def _join(
    session: Session, patient_id: uuid.UUID, clinician_id: uuid.UUID, via: str, now: dt.datetime
) -> CareTeamMember:
    # One joiner of a patient's care team at a time (PostgreSQL): two concurrent joins of the
    # same pair (two codes of one clinician, or a grant and a code) would both insert the
    # member and the second would fail on its primary key. After the lock, the second sees
    # the first's row and renews it.
    lock_patient(session, patient_id)
    member = session.get(CareTeamMember, (patient_id, clinician_id), populate_existing=True)
    if member is None:
        member = CareTeamMember(
            patient_id=patient_id, clinician_id=clinician_id, granted_via=via, granted_at=now
        )
    elif member.revoked_at is not None:
        member.revoked_at, member.revoked_by = None, None
        member.granted_via, member.granted_at = via, now
    session.add(member)
    session.flush()
    return member


def accept_invitation(
    session: Session, actor: Actor, code: str, now: dt.datetime
) -> CareTeamMemberOut:
    # The patient's row first, then the code's (PostgreSQL), both until this transaction
    # ends: of several patients accepting one code at once exactly one finds it open and the
    # others then read it accepted (404); one patient's several codes join one at a time.
    # In this order, since marking a code accepted takes a key-share lock on the patient's row
    # (foreign key), which would deadlock with a patient lock taken after it.
    # (SQLite serialises write transactions already.)
    lock_patient(session, actor.user_id)
    inv = session.get(
        Invitation, code.strip().upper(), with_for_update=True, populate_existing=True
    )
    if inv is None or inv.accepted_at is not None or inv.expires_at <= now:
        raise NotFound("No such open invitation")
    inv.accepted_by, inv.accepted_at = actor.user_id, now
    session.add(inv)
    member = _join(session, actor.user_id, inv.clinician_id, "invitation", now)
    return _member_out(session, member)


def _member_out(session: Session, member: CareTeamMember) -> CareTeamMemberOut:
    name = session.scalar(select(col(User.display_name)).where(col(User.id) == member.clinician_id))
    return CareTeamMemberOut(
        clinician_id=member.clinician_id,
        display_name=name or "",
        granted_via=member.granted_via,
        granted_at=member.granted_at,
    )


def grant(session: Session, patient: Patient, body: GrantIn, now: dt.datetime) -> GrantRequested:
    """A patient asks a clinician to join their care team: a pending request, which gives no
    access until the clinician accepts it. The answer is the same whether the email or id is a
    clinician's, a patient's or nobody's, and whether the clinician is already on the team:
    it reveals nothing about other accounts (hardening finding 8)."""
    q = select(col(User.id)).where(col(User.role) == "clinician")
    if body.clinician_id is not None:
        q = q.where(col(User.id) == body.clinician_id)
    else:
        q = q.where(col(User.email) == auth_service.normalise_email(str(body.clinician_email)))
    clinician_id = session.scalars(q).first()
    if clinician_id is not None:
        lock_patient(session, patient.id)
        member = session.get(CareTeamMember, (patient.id, clinician_id))
        if member is None or member.revoked_at is not None:
            request = session.get(CareTeamRequest, (patient.id, clinician_id))
            if request is None:
                request = CareTeamRequest(patient_id=patient.id, clinician_id=clinician_id)
            request.requested_at, request.decided_at, request.decision = now, None, None
            session.add(request)
            session.flush()
    return GrantRequested()


def pending_requests(session: Session, actor: Actor) -> list[CareRequestOut]:
    rows = session.execute(
        select(CareTeamRequest, col(User.display_name))
        .join(User, col(User.id) == col(CareTeamRequest.patient_id))
        .where(
            col(CareTeamRequest.clinician_id) == actor.user_id,
            col(CareTeamRequest.decided_at).is_(None),
        )
        .order_by(col(CareTeamRequest.requested_at), col(CareTeamRequest.patient_id))
    ).all()
    return [
        CareRequestOut(patient_id=r.patient_id, display_name=name, requested_at=r.requested_at)
        for r, name in rows
    ]


def decide_request(
    session: Session, actor: Actor, patient_id: uuid.UUID, *, accept: bool, now: dt.datetime
) -> CareTeamMemberOut | None:
    """The clinician accepts (joins the care team) or declines a pending request; 404 when
    there is none."""
    lock_patient(session, patient_id)
    request = session.get(CareTeamRequest, (patient_id, actor.user_id), populate_existing=True)
    if request is None or request.decided_at is not None:
        raise NotFound("No pending request from this patient")
    request.decided_at, request.decision = now, "accepted" if accept else "declined"
    if not accept:
        return None
    return _member_out(session, _join(session, patient_id, actor.user_id, "grant", now))


def list_care_team(session: Session, patient: Patient) -> list[CareTeamMemberOut]:
    rows = session.execute(
        select(CareTeamMember, col(User.display_name))
        .join(User, col(User.id) == col(CareTeamMember.clinician_id))
        .where(
            col(CareTeamMember.patient_id) == patient.id, col(CareTeamMember.revoked_at).is_(None)
        )
        .order_by(col(CareTeamMember.granted_at))
    ).all()
    return [
        CareTeamMemberOut(
            clinician_id=m.clinician_id,
            display_name=name,
            granted_via=m.granted_via,
            granted_at=m.granted_at,
        )
        for m, name in rows
    ]


def revoke(
    session: Session, actor: Actor, patient: Patient, clinician_id: uuid.UUID, now: dt.datetime
) -> None:
    if actor.is_clinician and actor.user_id != clinician_id:
        raise Forbidden("A clinician may only remove themself from a care team")
    if not actor.is_patient and not actor.is_clinician:
        raise Forbidden()
    member = session.get(CareTeamMember, (patient.id, clinician_id))
    if member is None or member.revoked_at is not None:
        raise NotFound("This clinician is not on the care team")
    member.revoked_at, member.revoked_by = now, actor.user_id
    session.add(member)
    session.flush()
