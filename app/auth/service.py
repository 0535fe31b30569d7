"""Accounts and sign-in sessions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.auth.models import RefreshToken, User
from app.auth.schemas import TokenOut
from app.auth.security import (
    create_access_token,
    dummy_hash,
    hash_password,
    keyed_hash,
    new_secret,
    verify_password,
)
from app.config import get_settings
from app.errors import Conflict, Unauthorized

REFRESH_PREFIX = "ktr_"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, *, email: str, password: str, role: str, display_name: str
) -> User:
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password),
        role=role,
        display_name=display_name.strip(),
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists") from exc
    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    user = session.scalars(select(User).where(col(User.email) == normalise_email(email))).first()
    if user is None:
        verify_password(dummy_hash(), password)
        raise Unauthorized("Incorrect email or password")
    if not verify_password(user.password_hash, password):
        raise Unauthorized("Incorrect email or password")
    return user


def _issue(session: Session, user: User, family_id: uuid.UUID, now: dt.datetime) -> TokenOut:
    refresh = new_secret(REFRESH_PREFIX)
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=keyed_hash(refresh),
            created_at=now,
            expires_at=now + dt.timedelta(days=get_settings().refresh_token_days),
        )
    )
    access, ttl = create_access_token(user_id=user.id, role=user.role, family_id=family_id, now=now)
    return TokenOut(access_token=access, refresh_token=refresh, expires_in=ttl)


def sign_in(session: Session, *, user: User, now: dt.datetime) -> TokenOut:
    return _issue(session, user, uuid.uuid4(), now)


def open_server_session(session: Session, *, user: User, now: dt.datetime) -> uuid.UUID:
    """A sign-in whose tokens never leave the server (the dashboard's cookie session): its
    family id names it, `revoke_family` ends it, and signing out elsewhere ends it too."""
    family_id = uuid.uuid4()
    _issue(session, user, family_id, now)
    return family_id


def revoke_family(session: Session, family_id: uuid.UUID, now: dt.datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def revoke_all(
    session: Session, user_id: uuid.UUID, now: dt.datetime, *, keep: uuid.UUID | None = None
) -> int:
    """End every sign-in of the account (every refresh family, so every access token too),
    except `keep`; the number of sign-ins ended."""
    families = select(col(RefreshToken.family_id)).where(
        col(RefreshToken.user_id) == user_id, col(RefreshToken.revoked_at).is_(None)
    )
    if keep is not None:
        families = families.where(col(RefreshToken.family_id) != keep)
    ended = set(session.execute(families).scalars())
    if ended:
        session.execute(
            update(RefreshToken)
            .where(col(RefreshToken.family_id).in_(ended), col(RefreshToken.revoked_at).is_(None))
            .values(revoked_at=now)
        )
    return len(ended)


def change_password(
    session: Session,
    *,
    user_id: uuid.UUID,
    current: str,
    new: str,
    keep: uuid.UUID | None,
    now: dt.datetime,
) -> int:
    """Check the current password, store the new one's hash and end every other sign-in."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or not verify_password(user.password_hash, current):
        raise Unauthorized("Current password incorrect", headers={})
    user.password_hash = hash_password(new)
    user.updated_at = now
    return revoke_all(session, user_id, now, keep=keep)


def refresh(session: Session, *, token: str, now: dt.datetime) -> TokenOut:
    row = (
        session.execute(
            select(RefreshToken)
            .where(col(RefreshToken.token_hash) == keyed_hash(token))
            .with_for_update()
        )
        .scalars()
        .first()
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("Invalid refresh token")
    if row.used_at is not None:
        # Reuse of a rotated token: someone holds a copy. Revoke the whole sign-in.
        revoke_family(session, row.family_id, now)
        raise Unauthorized(
            "Refresh token reuse detected; this sign-in was revoked", keep_changes=True
        )
    row.used_at = now
    user = session.get(User, row.user_id)
    if user is None:
        raise Unauthorized("Invalid refresh token")
    return _issue(session, user, row.family_id, now)
