"""Password hashing (Argon2id via argon2-cffi), JWT access tokens (PyJWT) and opaque secrets."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.config import get_settings
from app.errors import ServiceUnavailable

JWT_ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"


@lru_cache
def password_hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.password_time_cost, memory_cost=s.password_memory_kib)


@lru_cache
def hashing_slots() -> threading.BoundedSemaphore:
    """The process's Argon2 slots: each hash holds ~`password_memory_kib` of memory and a core
    for a moment, so a flood of sign-ups must queue rather than exhaust the server."""
    return threading.BoundedSemaphore(get_settings().password_hash_concurrency)


@contextmanager
def hashing_slot() -> Iterator[None]:
    wait = get_settings().password_hash_wait_seconds
    slots = hashing_slots()
    if not slots.acquire(timeout=wait):
        raise ServiceUnavailable(
            "The server is busy checking passwords; retry shortly",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        yield
    finally:
        slots.release()


def hash_password(password: str) -> str:
    with hashing_slot():
        return password_hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    with hashing_slot():
        try:
            return password_hasher().verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


# A fixed hash to verify against when the account does not exist, so that a failed sign-in
# takes the same time whether or not the email is known.
@lru_cache
def dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def create_access_token(
    *, user_id: uuid.UUID, role: str, family_id: uuid.UUID, now: dt.datetime
) -> tuple[str, int]:
    s = get_settings()
    ttl = s.access_token_minutes * 60
    claims = {
        "sub": str(user_id),
        "role": role,
        "sid": str(family_id),
        "typ": ACCESS_TOKEN_TYPE,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, s.secret_key, algorithm=JWT_ALGORITHM), ttl


@lru_cache(maxsize=4096)
def _verified_claims(secret_key: str, token: str) -> dict[str, Any]:
    """A token's claims once its signature, its algorithm and its required claims have been
    checked; raises for a token that fails. The same token comes with every request of a
    client for its lifetime, so the check is made once per token (the cache keeps no failure,
    and the expiry is checked again on every use)."""
    claims: dict[str, Any] = jwt.decode(
        token,
        secret_key,
        algorithms=[JWT_ALGORITHM],
        options={"require": ["exp", "iat", "sub", "sid", "typ"]},
    )
    return claims


def decode_access_token(token: str) -> dict[str, Any] | None:
    """The token's claims, or None when it is malformed, forged, of another type or expired.
    Only HS256 is accepted, so `alg: none` and algorithm confusion are refused."""
    try:
        claims = _verified_claims(get_settings().secret_key, token)
    except jwt.PyJWTError:
        return None
    # PyJWT checks only that `exp` and `iat` read as integers ("1796286689" does), and not the
    # type of `sid`: claims of another JSON type than this server writes are refused here,
    # before any comparison or UUID parse could fail with a 500.
    if not _claim_types_ok(claims):
        return None
    # PyJWT's rule for `exp`: expired once now >= exp.
    if claims["exp"] <= time.time() or claims["typ"] != ACCESS_TOKEN_TYPE:
        return None
    return dict(claims)


def _claim_types_ok(claims: dict[str, Any]) -> bool:
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    return (
        is_int(claims["exp"])
        and is_int(claims["iat"])
        and all(isinstance(claims[k], str) for k in ("sub", "sid", "typ"))
    )


def new_secret(prefix: str, nbytes: int = 32) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def keyed_hash(secret: str) -> str:
    """HMAC-SHA256 of a high-entropy secret under the server key: a stolen table alone
    cannot be used to sign in, and lookup stays an index hit."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
