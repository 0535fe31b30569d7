"""Who is calling: the `CurrentActor` dependency."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlmodel import Session, col

from app.audit import service as audit
from app.auth.models import ApiKey, RefreshToken, User
from app.auth.scopes import ALL_SCOPES, required_scope
from app.auth.security import decode_access_token, keyed_hash
from app.config import get_settings
from app.db import SessionDep, utcnow
from app.errors import Forbidden, Unauthorized
from app.ratelimit import RateLimits, RateLimitsDep
from app.sql import bindparam as typed_param

# OAuth2's password flow (RFC 6749 §4.3), tokens sent as `Authorization: Bearer` (RFC 6750).
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    refreshUrl="/v1/auth/token",
    scheme_name="OAuth2",
    auto_error=False,
    description="An access token (a JWT) from `POST /v1/auth/token`, sent as "
    "`Authorization: Bearer <token>`; `grant_type=refresh_token` at the same endpoint renews it.",
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key from `POST /v1/api-keys`: acts as its owner, narrowed by its scopes "
    "(`read` for GET, `write` for other methods, `export` for exports).",
)


def parse_pid(pid: str, *, me: uuid.UUID | None) -> uuid.UUID | None:
    """The `{pid}` path parameter as a patient id: a UUID, or `me` (the id given as `me`, when
    the caller may say it); None when it names nobody."""
    if pid == "me":
        return me
    try:
        return uuid.UUID(pid)
    except ValueError:
        return None


@dataclass(frozen=True)
class Actor:
    user_id: uuid.UUID
    role: str
    display_name: str
    scopes: frozenset[str] = field(default=ALL_SCOPES)
    via: str = "token"
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None

    @property
    def is_patient(self) -> bool:
        return self.role == "patient"

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"

    @property
    def principal(self) -> str:
        """Whose budget a request counts against: the API key, or the signed-in user."""
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    def resolve_pid(self, pid: str) -> uuid.UUID | None:
        """`{pid}` as a patient id: a UUID, or `me` for a calling patient."""
        return parse_pid(pid, me=self.user_id if self.is_patient else None)

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope")


def active_sign_in(user_id: Any, family_id: Any) -> ColumnElement[bool]:
    """A filter on `User`: the account `user_id` exists, its sign-in `family_id` was issued
    to it (a refresh token of that family is the account's) and was not ended. A correctly
    signed token naming a sign-in this server never issued is refused (issue: forged `sid`).
    The ids are values, or the bound parameters below for a statement built once."""
    issued = exists().where(
        col(RefreshToken.family_id) == family_id,
        col(RefreshToken.user_id) == user_id,
    )
    revoked = exists().where(
        col(RefreshToken.family_id) == family_id,
        col(RefreshToken.revoked_at).is_not(None),
    )
    return and_(col(User.id) == user_id, issued, ~revoked)


BEARER_USER = typed_param("bearer_user_id", User, "id")
BEARER_FAMILY = typed_param("bearer_family_id", RefreshToken, "family_id")


@dataclass(frozen=True)
class BearerSession:
    """What a well-formed access token claims: whose it is and which sign-in it belongs to."""

    user_id: uuid.UUID
    family_id: uuid.UUID

    def params(self) -> dict[str, uuid.UUID]:
        """The values of `active_sign_in(BEARER_USER, BEARER_FAMILY)` in a prepared statement."""
        return {BEARER_USER.key: self.user_id, BEARER_FAMILY.key: self.family_id}

    def actor(self, role: str, display_name: str) -> Actor:
        return Actor(
            user_id=self.user_id, role=role, display_name=display_name, session_id=self.family_id
        )


def bearer_session(token: str) -> BearerSession:
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token")
    try:
        return BearerSession(uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]))
    except (ValueError, TypeError) as exc:
        raise Unauthorized("Invalid or expired access token") from exc


_BEARER_CALLER = select(col(User.role), col(User.display_name)).where(
    active_sign_in(BEARER_USER, BEARER_FAMILY)
)


def actor_from_bearer(session: Session, token: str) -> Actor:
    claimed = bearer_session(token)
    row = session.execute(_BEARER_CALLER, claimed.params()).first()
    if row is None:  # account erased, or signed out
        raise Unauthorized("Invalid or expired access token")
    return claimed.actor(row.role, row.display_name)


def _actor_from_api_key(session: Session, key: str) -> Actor:
    row = session.execute(
        select(
            col(ApiKey.id),
            col(ApiKey.scopes),
            col(ApiKey.last_used_at),
            col(User.id).label("user_id"),
            col(User.role),
            col(User.display_name),
        )
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.key_hash) == keyed_hash(key), col(ApiKey.revoked_at).is_(None))
    ).first()
    if row is None:  # unknown, revoked, or its owner's account erased
        raise Unauthorized("Invalid or revoked API key", headers={"WWW-Authenticate": "ApiKey"})
    now = utcnow()
    resolution = dt.timedelta(seconds=get_settings().api_key_last_used_resolution_seconds)
    if row.last_used_at is None or row.last_used_at <= now - resolution:
        # Written at most once per resolution window per key, and only if no concurrent
        # request did it first: a busy key does not turn every read into a row update.
        session.execute(
            update(ApiKey)
            .where(
                col(ApiKey.id) == row.id,
                or_(
                    col(ApiKey.last_used_at).is_(None),
                    col(ApiKey.last_used_at) <= now - resolution,
                ),
            )
            .values(last_used_at=now)
        )
    return Actor(
        user_id=row.user_id,
        role=row.role,
        display_name=row.display_name,
        scopes=frozenset(row.scopes.split()),
        via="api_key",
        api_key_id=row.id,
    )


# Other credentials register here: (request, session) -> Actor | None, tried when the request
# carries neither a bearer token nor an API key (the dashboard's cookie session, on its pages).
SESSION_RESOLVERS: list[Callable[[Request, Session], Actor | None]] = []


@dataclass(frozen=True)
class Credentials:
    """What the request presents, before any lookup."""

    bearer: str | None
    api_key: str | None
    limits: RateLimits


async def get_credentials(
    limits: RateLimitsDep,
    bearer: Annotated[str | None, Depends(bearer_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Credentials:
    if bearer and api_key:
        raise Unauthorized("Send either a bearer token or an API key, not both")
    return Credentials(
        bearer=bearer or None,
        api_key=api_key or None,
        limits=limits,
    )


CredentialsDep = Annotated[Credentials, Depends(get_credentials)]


def remembered_actor(request: Request) -> Actor | None:
    """The caller, once `authenticate` has run for this request (else None).

    The one hand-over between authentication and what follows it in the same request: the
    `{pid}` guards (app/care/guards.py) authenticate together with the patient lookup, and
    `CurrentActor` then reuses their result; the dashboard's pages and error pages read it to
    show who is signed in. It lives in the request's own state (Starlette's per-request
    storage) because error pages render outside dependency resolution."""
    actor: Actor | None = getattr(request.state, "actor", None)
    return actor


def remember_actor(request: Request, actor: Actor) -> None:
    request.state.actor = actor


async def get_current_actor(
    request: Request, session: SessionDep, credentials: CredentialsDep
) -> Actor:
    """The caller, in one threadpool hop (the lookup, the rate limit and a refusal's audit
    event all touch the database or Redis); at no cost when the access policy
    (app/care/guards.py) has already authenticated this request."""
    known = remembered_actor(request)
    if known is not None:
        return known
    return await run_in_threadpool(authenticate, request, session, credentials)


def authenticate(
    request: Request, session: Session, credentials: Credentials, *, found: Actor | None = None
) -> Actor:
    """Who is calling (`found`: already looked up by the caller), counted against their rate
    limit and checked against the API key's scopes. Once per request: the actor is remembered
    (`remember_actor`)."""
    known = remembered_actor(request)
    if known is not None:
        return known
    if found is not None:
        actor = found
    elif credentials.bearer is not None:
        actor = actor_from_bearer(session, credentials.bearer)
    elif credentials.api_key:
        actor = _actor_from_api_key(session, credentials.api_key)
    else:
        resolved = (resolve(request, session) for resolve in SESSION_RESOLVERS)
        resolved_actor = next((a for a in resolved if a is not None), None)
        if resolved_actor is None:
            raise Unauthorized()
        actor = resolved_actor
    remember_actor(request, actor)
    credentials.limits.hit("principal", actor.principal)
    needed = required_scope(request)
    if needed not in actor.scopes:
        if "pid" in request.path_params:
            audit.record_apart(
                session,
                audit.event_for(
                    request,
                    actor,
                    patient_id=actor.resolve_pid(request.path_params["pid"]),
                    action=needed,
                    outcome="denied",
                    status=403,
                ),
            )
        actor.require_scope(needed)
    return actor


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


def require_role(*roles: str) -> object:
    async def _check(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise Forbidden(f"This operation is for the role(s): {', '.join(roles)}")
        return actor

    return _check


PatientActor = Annotated[Actor, Depends(require_role("patient"))]
ClinicianActor = Annotated[Actor, Depends(require_role("clinician"))]
AdminActor = Annotated[Actor, Depends(require_role("admin"))]
