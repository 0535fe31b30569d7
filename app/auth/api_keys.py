"""API keys for integrators: created, listed and revoked by their owner."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.auth.models import ApiKey, User
from app.auth.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from app.auth.security import keyed_hash, new_secret
from app.config import get_settings
from app.errors import Conflict, Forbidden, NotFound

KEY_PREFIX = "kt_live_"
SHOWN_PREFIX_CHARS = len(KEY_PREFIX) + 6


def _require_signed_in(actor: Actor) -> None:
    # Keys are managed from a signed-in session only: a leaked key cannot mint, list or revoke
    # keys, so it can never outlive its own revocation or widen its scopes.
    if actor.via != "token":
        raise Forbidden("API keys are managed with a signed-in session, not with an API key")


def key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=sorted(row.scopes.split()),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked=row.revoked_at is not None,
        revoked_at=row.revoked_at,
    )


def create_key(session: Session, actor: Actor, body: ApiKeyIn, now: dt.datetime) -> ApiKeyCreated:
    _require_signed_in(actor)
    # Count and insert under the owner's row lock (PostgreSQL): concurrent creations are
    # decided one at a time, so the cap holds (27 active keys were made past a cap of 25).
    # SQLite serialises write transactions already.
    session.execute(select(col(User.id)).where(col(User.id) == actor.user_id).with_for_update())
    active = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(col(ApiKey.user_id) == actor.user_id, col(ApiKey.revoked_at).is_(None))
    )
    limit = get_settings().max_api_keys_per_user
    if (active or 0) >= limit:
        raise Conflict(f"At most {limit} active API keys per account; revoke one first")
    secret = new_secret(KEY_PREFIX)
    row = ApiKey(
        user_id=actor.user_id,
        name=body.name.strip(),
        prefix=secret[:SHOWN_PREFIX_CHARS],
        key_hash=keyed_hash(secret),
        scopes=" ".join(sorted(set(body.scopes))),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return ApiKeyCreated(**key_out(row).model_dump(), key=secret)


def _own_key(session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    row = session.scalars(
        select(ApiKey).where(col(ApiKey.id) == key_id, col(ApiKey.user_id) == actor.user_id)
    ).first()
    if row is None:
        raise NotFound()
    return row


def list_keys(session: Session, actor: Actor) -> list[ApiKeyOut]:
    _require_signed_in(actor)
    rows = session.scalars(
        select(ApiKey)
        .where(col(ApiKey.user_id) == actor.user_id)
        .order_by(col(ApiKey.created_at), col(ApiKey.id))
    ).all()
    return [key_out(r) for r in rows]


def get_key(session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKeyOut:
    _require_signed_in(actor)
    return key_out(_own_key(session, actor, key_id))


def revoke_key(session: Session, actor: Actor, key_id: uuid.UUID, now: dt.datetime) -> None:
    _require_signed_in(actor)
    row = _own_key(session, actor, key_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
