from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.dependencies import AdminActor, CurrentActor
from app.auth.schemas import ClinicianIn, RefreshIn, RegisterIn, TokenOut, UserOut
from app.care import service as care_service
from app.care.schemas import PatientOut
from app.clock import Now
from app.db import SessionDep
from app.openapi import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    summary="Sign up as a patient",
)
def register(body: RegisterIn, session: SessionDep) -> PatientOut:
    return care_service.register_patient(session, body)


@router.post("/auth/token", tags=["auth"], summary="Sign in (OAuth2 password grant)")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, now: Now
) -> TokenOut:
    user = service.authenticate(session, email=form.username, password=form.password)
    return service.sign_in(session, user=user, now=now)


@router.post("/auth/refresh", tags=["auth"], summary="Exchange a refresh token (rotating)")
def refresh(body: RefreshIn, session: SessionDep, now: Now) -> TokenOut:
    return service.refresh(session, token=body.refresh_token, now=now)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    summary="Sign out: revoke this sign-in's access and refresh tokens",
)
def logout(actor: CurrentActor, session: SessionDep, now: Now) -> Response:
    if actor.session_id is not None:
        service.revoke_family(session, actor.session_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/admin/clinicians",
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    summary="Create a clinician account",
)
def create_clinician(body: ClinicianIn, _admin: AdminActor, session: SessionDep) -> UserOut:
    user = service.create_user(
        session,
        email=body.email,
        password=body.password,
        role="clinician",
        display_name=body.display_name,
    )
    return UserOut.model_validate(user, from_attributes=True)
