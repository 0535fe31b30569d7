"""Sign-up over HTTP: a new patient's account and profile, beside the care service that
creates them (the route keeps its `/v1/auth` path and `auth` tag)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from app.auth.schemas import RegisterIn
from app.care import service as care_service
from app.care.schemas import PatientOut
from app.client_address import client_address
from app.db import SessionDep
from app.idempotency.dependencies import IdempotentAnonymous, IdempotentRoute
from app.openapi import CONFLICT, PROBLEM_RESPONSES, RATE_LIMITED
from app.ratelimit import RateLimitsDep

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute)


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    tags=["auth"],
    responses={**CONFLICT, **RATE_LIMITED},
    summary="Sign up as a patient",
    dependencies=[IdempotentAnonymous],
)
def register(
    body: RegisterIn, request: Request, session: SessionDep, limits: RateLimitsDep
) -> PatientOut:
    # Each sign-up runs a memory-hard hash: a per-address budget before it (finding 3).
    limits.hit("signup_ip", client_address(request).effective)
    return care_service.register_patient(session, body)
