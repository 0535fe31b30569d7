"""Idempotency keys: claim a key, replay a stored answer, store a new one, purge old ones.

Concurrency. A request that carries a key first *claims* it for the rest of its transaction:
- PostgreSQL: `pg_try_advisory_xact_lock` on a 64-bit hash of (scope, key). It never waits: a
  second request with the same key while the first is running answers 409 at once. The lock is
  released when the first transaction ends, after its rows became visible, so a later request
  sees the stored answer (READ COMMITTED reads with a fresh snapshot after taking the lock).
- SQLite: every transaction is `BEGIN IMMEDIATE`, so requests are already serialised; the second
  waits for the first to commit and then replays its answer.
The primary key on (scope, key) is the backstop: a duplicate insert answers 409 too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.config import get_settings
from app.errors import Conflict, Unprocessable
from app.idempotency.models import IdempotencyKey
from app.sql import is_postgresql, table_of

HEADER = "Idempotency-Key"
ANONYMOUS = "anonymous"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
# Headers of the first answer that a replay repeats (content-type is always kept).
REPLAYED_HEADERS = ("content-type", "location", "etag")
LOC = ["header", HEADER]


@dataclass
class StoredAnswer:
    status_code: int
    headers: dict[str, str]
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    """HMAC of the method, the path and the body (JSON canonicalised, so that key order and
    whitespace do not matter). Keyed, because a sign-up body holds a password."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    secret = get_settings().secret_key.encode()
    msg = method.upper().encode() + b"\n" + path.encode() + b"\n" + canonical
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise Unprocessable(
            f"{HEADER} must be 1–255 visible ASCII characters (a UUID is a good choice)", loc=LOC
        )


def _lock_id(scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class InFlight(Conflict):
    """409 with its own problem type: not a conflict with the record's state (an email taken),
    but the same request still running; retry it after `Retry-After`."""

    slug = "idempotency-key-in-flight"


def in_flight() -> Conflict:
    return InFlight(
        f"A request with this {HEADER} is still being processed; retry after it has finished",
        headers={"Retry-After": "1"},
    )


def claim(
    session: Session, *, scope: str, key: str, fingerprint: str, now: dt.datetime
) -> StoredAnswer | None:
    """Claim the key for this transaction. Returns the stored answer to replay, None when the
    request should run, raises 409 (still running elsewhere) or 422 (another body)."""
    if is_postgresql(session):
        got = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_id(scope, key)}
        )
        if not got:
            raise in_flight()
    row = session.execute(
        select(table_of(IdempotencyKey)).where(
            col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key
        )
    ).first()
    if row is None:
        return None
    if row.expires_at <= now:
        session.execute(
            delete(IdempotencyKey).where(
                col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key
            )
        )
        return None
    if not hmac.compare_digest(row.fingerprint, fingerprint):
        raise Unprocessable(
            f"This {HEADER} was already used with another request (method, path or body)",
            loc=LOC,
        )
    return StoredAnswer(status_code=row.status_code, headers=dict(row.headers), body=row.body)


def store(
    session: Session,
    *,
    scope: str,
    key: str,
    fingerprint: str,
    user_id: uuid.UUID | None,
    patient_id: uuid.UUID | None = None,
    answer: StoredAnswer,
    now: dt.datetime,
) -> None:
    """Record the answer in the request's own transaction (committed with its rows)."""
    settings = get_settings()
    session.add(
        IdempotencyKey(
            scope=scope,
            key=key,
            user_id=user_id,
            patient_id=patient_id,
            fingerprint=fingerprint,
            status_code=answer.status_code,
            headers=answer.headers,
            body=answer.body,
            created_at=now,
            expires_at=now + dt.timedelta(days=settings.idempotency_key_days),
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # the primary key caught a race the claim did not
        raise in_flight() from exc
    if random.random() < settings.idempotency_purge_probability:  # noqa: S311
        purge_expired(session, now)


def purge_expired(session: Session, now: dt.datetime) -> int:
    """Delete every expired key; returns how many."""
    count = session.scalar(select(func.count()).where(col(IdempotencyKey.expires_at) <= now)) or 0
    if count:
        session.execute(delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now))
    return int(count)
