"""Who is calling: the `CurrentActor` dependency."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import exists, select
from sqlmodel import Session, col

from app.auth.models import RefreshToken, User
from app.auth.security import decode_access_token
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized

ALL_SCOPES = frozenset({"read", "write", "export"})

bearer_scheme = HTTPBearer(
    auto_error=False, bearerFormat="JWT", description="Access token from `POST /v1/auth/token`."
)


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
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope")


def _actor_from_bearer(session: SessionDep, token: str) -> Actor:
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized("Invalid or expired access token")
    try:
        user_id = uuid.UUID(claims["sub"])
        family_id = uuid.UUID(claims["sid"])
    except (ValueError, TypeError) as exc:
        raise Unauthorized("Invalid or expired access token") from exc
    revoked = exists().where(
        col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_not(None)
    )
    row = session.execute(
        select(col(User.role), col(User.display_name)).where(col(User.id) == user_id, ~revoked)
    ).first()
    if row is None:  # account erased, or signed out
        raise Unauthorized("Invalid or expired access token")
    return Actor(
        user_id=user_id, role=row.role, display_name=row.display_name, session_id=family_id
    )


# Other credential kinds (API keys) register a resolver here: (request, session) -> Actor | None.
EXTRA_RESOLVERS: list[Callable[[Request, Session], Actor | None]] = []


def get_current_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Actor:
    actor: Actor | None = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        actor = _actor_from_bearer(session, credentials.credentials)
    else:
        for resolver in EXTRA_RESOLVERS:
            actor = resolver(request, session)
            if actor is not None:
                break
        if actor is None:
            raise Unauthorized()
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(get_current_actor)]


def require_role(*roles: str) -> object:
    def _check(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise Forbidden(f"This operation is for the role(s): {', '.join(roles)}")
        return actor

    return _check


PatientActor = Annotated[Actor, Depends(require_role("patient"))]
ClinicianActor = Annotated[Actor, Depends(require_role("clinician"))]
AdminActor = Annotated[Actor, Depends(require_role("admin"))]
