from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status
from sqlmodel import Session

from app.auth import api_keys, service
from app.auth.dependencies import AdminActor, CurrentActor
from app.auth.oauth import (
    NO_STORE,
    OAuthError,
    TokenError,
    form_refusal,
    refuse_empty,
    sent_empty,
)
from app.auth.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    ClinicianIn,
    PasswordChangeIn,
    PasswordForm,
    RefreshIn,
    SignOutResult,
    TokenOut,
    UserOut,
)
from app.client_address import client_address
from app.clock import Now
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.idempotency.dependencies import Idempotent, IdempotentRoute
from app.openapi import CONFLICT, PROBLEM_RESPONSES, RATE_LIMITED
from app.pagination import Cursor, Limit, page_sorted
from app.ratelimit import RateLimits, RateLimitsDep

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES, route_class=IdempotentRoute)


@router.post(
    "/auth/token",
    tags=["auth"],
    summary="Sign in or refresh (OAuth2 password and refresh_token grants)",
    description="The OAuth2 token endpoint (RFC 6749): a form "
    "(`application/x-www-form-urlencoded`) with `grant_type=password`, `username` (the "
    "email) and `password`, or `grant_type=refresh_token` and `refresh_token`. A refusal is "
    "400 with RFC 6749 §5.2's `error` (`invalid_request`, `invalid_grant`, "
    "`unsupported_grant_type`) in an RFC 9457 problem. Rate limited per address and per "
    "account (docs/app-developers.md).",
    responses={
        **RATE_LIMITED,
        400: {
            "model": TokenError,
            "content": {"application/problem+json": {}},
            "description": "Refused (RFC 6749 §5.2): a wrong email or password, an invalid or "
            "reused refresh token, a missing parameter, a body that is not a form",
        },
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "example": {
                        "grant_type": "password",
                        "username": "ada@example.org",
                        "password": "correct horse battery",
                    }
                }
            }
        }
    },
)
def token(
    form: Annotated[PasswordForm, Form()],
    empty: Annotated[list[str], Depends(sent_empty)],
    request: Request,
    response: Response,
    session: SessionDep,
    limits: RateLimitsDep,
    now: Now,
) -> TokenOut:
    response.headers.update(NO_STORE)  # RFC 6749 §5.1
    not_a_form = form_refusal(request)
    if not_a_form is not None:
        raise not_a_form
    refuse_empty(empty)
    if form.grant_type is None and form.username is None and form.refresh_token is None:
        raise OAuthError(
            "invalid_request",
            "Send 'username' and 'password' (grant_type=password), or 'refresh_token' "
            "(grant_type=refresh_token)",
        )
    if form.grant_type == "refresh_token" or (form.grant_type is None and form.username is None):
        return _refresh_grant(form, request, session, limits, now)
    if form.username is None or form.password is None:
        missing = "username" if form.username is None else "password"
        raise OAuthError("invalid_request", f"grant_type=password needs '{missing}'")
    # Per address and per account, counted before the password is checked: guessing is slowed
    # down whether it spreads over accounts or over addresses.
    limits.hit("token_ip", client_address(request).effective)
    limits.hit("token_account", service.normalise_email(form.username))
    try:
        user = service.authenticate(session, email=form.username, password=form.password)
    except Unauthorized as exc:
        raise OAuthError("invalid_grant", exc.detail or "Incorrect email or password") from None
    return service.sign_in(session, user=user, now=now)


def _refresh_grant(
    form: PasswordForm, request: Request, session: Session, limits: RateLimits, now: dt.datetime
) -> TokenOut:
    if form.refresh_token is None:
        raise OAuthError("invalid_request", "grant_type=refresh_token needs 'refresh_token'")
    limits.hit("refresh_ip", client_address(request).effective)
    try:
        return service.refresh(session, token=form.refresh_token, now=now)
    except Unauthorized as exc:
        # A reused token revoked its family: that revocation is kept although this fails.
        raise OAuthError(
            "invalid_grant", exc.detail or "Invalid refresh token", keep_changes=exc.keep_changes
        ) from None


@router.post(
    "/auth/refresh",
    tags=["auth"],
    summary="Exchange a refresh token (rotating)",
    responses=RATE_LIMITED,
)
def refresh(
    body: RefreshIn, request: Request, session: SessionDep, limits: RateLimitsDep, now: Now
) -> TokenOut:
    limits.hit("refresh_ip", client_address(request).effective)
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
    "/auth/logout-all",
    tags=["auth"],
    summary="Sign out everywhere: end every sign-in of this account, this one included",
)
def logout_all(actor: CurrentActor, session: SessionDep, now: Now) -> SignOutResult:
    return SignOutResult(ended=service.revoke_all(session, actor.user_id, now))


@router.post(
    "/auth/password",
    tags=["auth"],
    summary="Change your password; every other sign-in is ended",
    responses=RATE_LIMITED,
)
def change_password(
    body: PasswordChangeIn,
    actor: CurrentActor,
    request: Request,
    session: SessionDep,
    limits: RateLimitsDep,
    now: Now,
) -> SignOutResult:
    if actor.via != "token":
        raise Forbidden("Sign in with your password to change it (not with an API key)")
    limits.hit("password_ip", client_address(request).effective)
    limits.hit("password_account", str(actor.user_id))
    ended = service.change_password(
        session,
        user_id=actor.user_id,
        current=body.current_password,
        new=body.new_password,
        keep=actor.session_id,
        now=now,
    )
    return SignOutResult(ended=ended)


@router.post(
    "/admin/clinicians",
    status_code=status.HTTP_201_CREATED,
    tags=["admin"],
    responses=CONFLICT,
    summary="Create a clinician account",
    dependencies=[Idempotent],
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


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    responses=CONFLICT,
    summary="Create an API key (the secret is shown once, in `key`)",
)
def create_api_key(
    body: ApiKeyIn, actor: CurrentActor, session: SessionDep, now: Now
) -> ApiKeyCreated:
    return api_keys.create_key(session, actor, body, now)


@router.get("/api-keys", tags=["api-keys"], summary="List your API keys (never their secrets)")
def list_api_keys(
    actor: CurrentActor, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> ApiKeyList:
    items, nxt = page_sorted(
        api_keys.list_keys(session, actor),
        key=lambda k: [k.created_at.isoformat(timespec="microseconds"), str(k.id)],
        limit=limit,
        cursor=cursor,
    )
    return ApiKeyList(items=items, next_cursor=nxt)


@router.get("/api-keys/{key_id}", tags=["api-keys"], summary="Read one of your API keys")
def get_api_key(key_id: uuid.UUID, actor: CurrentActor, session: SessionDep) -> ApiKeyOut:
    return api_keys.get_key(session, actor, key_id)


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api-keys"],
    summary="Revoke an API key (it answers 401 from the next request on)",
)
def revoke_api_key(
    key_id: uuid.UUID, actor: CurrentActor, session: SessionDep, now: Now
) -> Response:
    api_keys.revoke_key(session, actor, key_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
