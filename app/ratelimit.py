"""Rate limits per principal and on sign-in, counted by the `limits` library: in Redis when
`REDIS_URL` is set (shared by every process and replica), otherwise in process memory."""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache
from typing import Annotated

import redis  # noqa: F401 - see below
from fastapi import Depends
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import SlidingWindowCounterRateLimiter

from app.config import get_settings
from app.errors import TooManyRequests

log = logging.getLogger("kneetrack.ratelimit")
# `limits` imports its Redis driver lazily and reads its version while doing so; two request
# threads doing that at once can see a half-imported module ("found version 0.0.0") and fail.
# Importing the driver above, at start-up, removes the race; so does building the limiter in
# the application's start-up (app.main.lifespan) rather than on a first request.


class RateLimits:
    """Named budgets, each one or more windows: `principal` (every authenticated request),
    `token_ip` / `token_account` (sign-in), `signup_ip` (sign-up), `refresh_ip` (token
    refresh), `password_ip` / `password_account` (the password checks of erasure and password
    change). A budget left out of `budgets` is not limited."""

    def __init__(self, storage: Storage, budgets: dict[str, str]) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.budgets: dict[str, list[RateLimitItem]] = {
            name: parse_many(spec) for name, spec in budgets.items()
        }

    def hit(self, budget: str, identity: str) -> None:
        """Count one request of `identity` against `budget`; 429 with Retry-After when over.

        When the shared store is unreachable the request is let through (and logged): losing
        the limiter for a while is better than refusing every patient and clinician."""
        for item in self.budgets.get(budget, ()):
            try:
                allowed = self.limiter.hit(item, budget, identity)
                stats = None if allowed else self.limiter.get_window_stats(item, budget, identity)
            except Exception as exc:
                log.warning("rate limit store unavailable: %s", type(exc).__name__)
                return
            if stats is not None:
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(
                    f"Too many requests; at most {item} for this {_who(budget)}",
                    headers={"Retry-After": str(retry)},
                )


def _who(budget: str) -> str:
    return (
        "account"
        if budget.endswith("_account")
        else ("address" if budget.endswith("_ip") else "caller")
    )


def build_storage(redis_url: str | None, key_prefix: str) -> Storage:
    if not redis_url:
        return MemoryStorage()
    # Short timeouts: a slow or absent Redis must not hold requests up (see `hit`).
    return RedisStorage(
        redis_url, key_prefix=key_prefix, socket_timeout=0.5, socket_connect_timeout=0.5
    )


@lru_cache
def build_rate_limits() -> RateLimits:
    """The process's limiter, built once (at start-up: see `app.main.lifespan`)."""
    s = get_settings()
    return RateLimits(
        build_storage(s.redis_url, s.rate_limit_key_prefix),
        {
            "principal": s.rate_limit_principal,
            "token_ip": s.rate_limit_token_ip,
            "token_account": s.rate_limit_token_account,
            "signup_ip": s.rate_limit_signup_ip,
            "refresh_ip": s.rate_limit_refresh_ip,
            "password_ip": s.rate_limit_password_ip,
            "password_account": s.rate_limit_password_account,
        },
    )


async def get_rate_limits() -> RateLimits:
    """The dependency (on the event loop: no threadpool hop for a cached object)."""
    return build_rate_limits()


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
