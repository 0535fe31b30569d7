from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from app.auth.dependencies import ClinicianActor, CurrentActor, PatientActor
from app.care import service
from app.care.guards import OwnedPatient, ReadablePatient
from app.care.schemas import (
    CareRequestList,
    CareTeamList,
    CareTeamMemberOut,
    GrantIn,
    GrantRequested,
    InvitationOut,
    PatientDeleteIn,
    PatientOut,
    PatientPatch,
)
from app.client_address import client_address
from app.clock import Now
from app.db import SessionDep
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import PROBLEM_RESPONSES, RATE_LIMITED, link
from app.pagination import Cursor, Limit, page_sorted
from app.ratelimit import RateLimitsDep

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute)

# Letters and digits, as read out or typed (case and surrounding spaces do not matter).
InvitationCode = Annotated[
    str, Path(min_length=1, max_length=40, pattern=r"^\s*[A-Za-z0-9]+\s*$", examples=["K7M2Q9XRTB"])
]


@router.get("/patients/{pid}", tags=["patients"], summary="Read a patient's profile")
def get_patient(patient: ReadablePatient, actor: CurrentActor, session: SessionDep) -> PatientOut:
    return service.get_profile(session, actor, patient)


@router.patch("/patients/{pid}", tags=["patients"], summary="Update your profile")
def patch_patient(
    body: PatientPatch, patient: OwnedPatient, session: SessionDep, now: Now
) -> PatientOut:
    return service.update_profile(session, patient, body, now)


@router.delete(
    "/patients/{pid}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["patients"],
    summary="Erase your account and all of your health data",
    responses=RATE_LIMITED,
)
def delete_patient(
    body: PatientDeleteIn,
    patient: OwnedPatient,
    request: Request,
    session: SessionDep,
    limits: RateLimitsDep,
) -> Response:
    # The password check must not be an oracle for a stolen token (finding 5): per address
    # and per account, counted before the password is checked.
    limits.hit("password_ip", client_address(request).effective)
    limits.hit("password_account", str(patient.id))
    service.erase_patient(session, patient, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    tags=["care-team"],
    responses={
        201: {
            "description": "Created",
            "links": {
                "AcceptInvitation": link(
                    "care-team-accept-invitation",
                    "The patient accepts with the code",
                    {"path.code": "$response.body#/code"},
                )
            },
        }
    },
    summary="Create an invitation code for a patient to join your care",
    dependencies=[Idempotent],
)
def create_invitation(actor: ClinicianActor, session: SessionDep, now: Now) -> InvitationOut:
    inv = service.create_invitation(session, actor, now)
    return InvitationOut(code=inv.code, clinician_id=inv.clinician_id, expires_at=inv.expires_at)


@router.delete(
    "/invitations/{code}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["care-team"],
    summary="Withdraw an open invitation you created (it can no longer be accepted)",
)
def withdraw_invitation(
    code: InvitationCode, actor: ClinicianActor, session: SessionDep, now: Now
) -> Response:
    service.withdraw_invitation(session, actor, code, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/{code}/accept",
    tags=["care-team"],
    summary="Accept an invitation: the clinician joins your care team",
)
def accept_invitation(
    code: InvitationCode, actor: PatientActor, session: SessionDep, now: Now
) -> CareTeamMemberOut:
    return service.accept_invitation(session, actor, code, now)


@router.get("/patients/{pid}/care-team", tags=["care-team"], summary="List the care team")
def list_care_team(
    patient: ReadablePatient, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> CareTeamList:
    items, nxt = page_sorted(
        service.list_care_team(session, patient),
        key=lambda m: [m.granted_at.isoformat(timespec="microseconds"), str(m.clinician_id)],
        limit=limit,
        cursor=cursor,
    )
    return CareTeamList(items=items, next_cursor=nxt)


@router.post(
    "/patients/{pid}/care-team",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["care-team"],
    summary="Ask a clinician to join your care team (they must accept)",
    description="Records a pending request: the clinician gets access only after accepting it "
    "(`POST /v1/clinicians/me/care-requests/{patient_id}/accept`). The answer is the same "
    "whether the email or id belongs to a clinician, to anyone else or to nobody. An "
    "invitation code from the clinician joins at once.",
    dependencies=[Idempotent],
)
def grant_access(
    body: GrantIn, patient: OwnedPatient, session: SessionDep, now: Now
) -> GrantRequested:
    return service.grant(session, patient, body, now)


@router.get(
    "/clinicians/me/care-requests",
    tags=["care-team"],
    summary="Patients asking you to join their care team (pending)",
)
def list_care_requests(actor: ClinicianActor, session: SessionDep) -> CareRequestList:
    return CareRequestList(items=service.pending_requests(session, actor))


@router.post(
    "/clinicians/me/care-requests/{patient_id}/accept",
    tags=["care-team"],
    summary="Accept a patient's request: you join their care team",
)
def accept_care_request(
    patient_id: uuid.UUID, actor: ClinicianActor, session: SessionDep, now: Now
) -> CareTeamMemberOut:
    member = service.decide_request(session, actor, patient_id, accept=True, now=now)
    assert member is not None
    return member


@router.delete(
    "/clinicians/me/care-requests/{patient_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["care-team"],
    summary="Decline a patient's request",
)
def decline_care_request(
    patient_id: uuid.UUID, actor: ClinicianActor, session: SessionDep, now: Now
) -> Response:
    service.decide_request(session, actor, patient_id, accept=False, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/patients/{pid}/care-team/{clinician_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["care-team"],
    summary="Revoke a clinician's access (the patient, or the clinician leaving)",
)
def revoke_access(
    clinician_id: uuid.UUID,
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
) -> Response:
    service.revoke(session, actor, patient, clinician_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
