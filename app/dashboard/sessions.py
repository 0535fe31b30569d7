"""The dashboard's cookie session and its CSRF tokens.

Signing in opens an ordinary API sign-in (a refresh-token family, `auth.service`) whose tokens
never leave the server; the browser holds only the family id, signed with the server key, in
a `Secure; HttpOnly; SameSite=Strict` cookie that page scripts cannot read. Every request
re-checks the family in the database, so signing out (here or through the API) and account
erasure take effect at once, and any number of replicas share the sessions.

The cookie is honoured on dashboard paths only: the JSON API keeps to bearer tokens and API
keys, so a cookie can never authorise an API write that carries no CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy import exists, select
from sqlmodel import Session, col

from app.auth.dependencies import SESSION_RESOLVERS, Actor
from app.auth.models import RefreshToken, User
from app.auth.security import keyed_hash
from app.config import get_settings
from app.db import utcnow

PREFIX = "/dashboard"
CSRF_FIELD = "csrf_token"


def is_dashboard_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def session_cookie_name() -> str:
    # The __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only
    # and for Path=/, so a sibling subdomain cannot plant or shadow it.
    return "__Host-kneetrack_session" if get_settings().dashboard_secure_cookie else "kt_session"


def presession_cookie_name() -> str:
    return "__Host-kneetrack_csrf" if get_settings().dashboard_secure_cookie else "kt_csrf"


def _signature(family_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return keyed_hash(f"dashboard-session:{family_id}:{user_id}")


def encode_session(family_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"{family_id}.{user_id}.{_signature(family_id, user_id)}"


def decode_session(raw: str | None) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not raw or raw.count(".") != 2:
        return None
    family, user, signature = raw.split(".")
    try:
        family_id, user_id = uuid.UUID(family), uuid.UUID(user)
    except ValueError:
        return None
    if not hmac.compare_digest(signature, _signature(family_id, user_id)):
        return None
    return family_id, user_id


def actor_from_cookie(request: Request, session: Session) -> Actor | None:
    if not is_dashboard_path(request.url.path):
        return None
    decoded = decode_session(request.cookies.get(session_cookie_name()))
    if decoded is None:
        return None
    family_id, user_id = decoded
    now = utcnow()
    oldest = now - dt.timedelta(hours=get_settings().dashboard_session_hours)
    live = exists().where(
        col(RefreshToken.family_id) == family_id,
        col(RefreshToken.user_id) == user_id,
        col(RefreshToken.revoked_at).is_(None),
        col(RefreshToken.expires_at) > now,
        col(RefreshToken.created_at) > oldest,
    )
    row = session.execute(
        select(col(User.role), col(User.display_name)).where(col(User.id) == user_id, live)
    ).first()
    if row is None:
        return None
    request.state.dashboard_session = True
    # A dashboard session is a sign-in like any other (a refresh-token family), so the audit
    # record says `token`; its `resource` names the /dashboard route.
    return Actor(
        user_id=user_id, role=row.role, display_name=row.display_name, session_id=family_id
    )


def signed_in_here(request: Request, actor: Actor | None) -> bool:
    """Whether this request's actor came from the dashboard's cookie (not a bearer token)."""
    return actor is not None and getattr(request.state, "dashboard_session", False)


SESSION_RESOLVERS.append(actor_from_cookie)


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=get_settings().dashboard_secure_cookie,
        httponly=True,
        samesite="strict",
    )


def _delete_cookie(response: Response, name: str) -> None:
    # A browser ignores a Set-Cookie for a `__Host-` name without `Secure`, deletions included:
    # the attributes must match the ones the cookie was set with.
    response.delete_cookie(
        name,
        path="/",
        secure=get_settings().dashboard_secure_cookie,
        httponly=True,
        samesite="strict",
    )


def set_session_cookie(response: Response, family_id: uuid.UUID, user_id: uuid.UUID) -> None:
    max_age = get_settings().dashboard_session_hours * 3600
    _cookie(response, session_cookie_name(), encode_session(family_id, user_id), max_age)
    _delete_cookie(response, presession_cookie_name())


def clear_session_cookie(response: Response) -> None:
    _delete_cookie(response, session_cookie_name())


# CSRF. Signed in: a synchronizer token derived from the session (HMAC of its family id), so
# it needs no storage and dies with the session. Before signing in (the sign-in form itself,
# against login CSRF): a double-submit token, a random value in its own HttpOnly cookie that
# the form must echo.


def session_csrf_token(actor: Actor) -> str:
    return keyed_hash(f"dashboard-csrf:{actor.session_id}")


def presession_csrf_token(request: Request) -> str:
    return request.cookies.get(presession_cookie_name()) or secrets.token_urlsafe(32)


def remember_presession_token(response: Response, token: str) -> None:
    _cookie(response, presession_cookie_name(), token, max_age=3600)


def csrf_valid(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def same_origin(request: Request) -> bool:
    """A second line behind the token: browsers say where a request comes from.
    (Under `Referrer-Policy: no-referrer` a same-origin form posts `Origin: null`, so
    Sec-Fetch-Site decides when present.)"""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    # Host only: behind a TLS-terminating proxy the app may see http while the browser says https.
    return urlsplit(origin).netloc == request.url.netloc
