"""Rate limits per principal and on sign-in, in process memory and in Redis (shared)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.ratelimit import RateLimits, build_rate_limits, build_storage, get_rate_limits
from tests.conftest import PASSWORD
from tests.helpers import assert_problem

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BUDGETS = {"principal": "4/minute", "token_ip": "3/minute", "token_account": "2/minute"}


def _redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage_factory(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Makes limit stores; for Redis every store of one test shares a unique key prefix
    (as the processes of one deployment would), removed afterwards."""
    if request.param == "memory":
        from limits.storage import MemoryStorage

        shared = MemoryStorage()
        yield lambda: shared
        return
    if not _redis_available():
        pytest.skip(f"no Redis at {REDIS_URL}")
    import redis

    prefix = f"kneetrack-test-{uuid.uuid4().hex}"
    yield lambda: build_storage(REDIS_URL, prefix)
    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(f"{prefix}*"):
        conn.delete(key)


@pytest.fixture()
def tighten(app: Any, storage_factory: Any) -> Iterator[Any]:
    """`tighten()` installs small budgets (call it after creating the test's accounts)."""

    def _install() -> RateLimits:
        limits = RateLimits(storage_factory(), BUDGETS)
        app.dependency_overrides[get_rate_limits] = lambda: limits
        return limits

    yield _install
    app.dependency_overrides.pop(get_rate_limits, None)


def _retry_after(response: Any) -> int:
    assert_problem(response, 429)
    value = int(response.headers["Retry-After"])
    assert 1 <= value <= 60
    return value


def test_principal_limit(client, make_patient, tighten):
    p, q = make_patient(), make_patient()
    tighten()
    answers = [client.get("/v1/patients/me", headers=p.headers) for _ in range(5)]
    assert [r.status_code for r in answers[:4]] == [200] * 4
    _retry_after(answers[4])
    # Another principal has its own budget.
    assert client.get("/v1/patients/me", headers=q.headers).status_code == 200


def test_api_key_has_its_own_budget(client, make_patient, tighten):
    p = make_patient()
    r = client.post("/v1/api-keys", headers=p.headers, json={"name": "k", "scopes": ["read"]})
    key = {"X-API-Key": r.json()["key"]}
    tighten()
    statuses = [client.get("/v1/patients/me", headers=key).status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    assert client.get("/v1/patients/me", headers=p.headers).status_code == 200


def test_token_limit_per_address(app, make_patient, tighten):
    accounts = [make_patient() for _ in range(4)]
    tighten()
    attacker = TestClient(app, client=("203.0.113.7", 40000))
    answers = [attacker.post("/v1/auth/token", data={"username": a.email, "password": PASSWORD})
               for a in accounts]
    assert [r.status_code for r in answers[:3]] == [200] * 3
    _retry_after(answers[3])
    # Another address is not affected.
    other = TestClient(app, client=("203.0.113.8", 40000))
    r = other.post("/v1/auth/token", data={"username": accounts[3].email, "password": PASSWORD})
    assert r.status_code == 200


def test_token_limit_per_account(app, make_patient, tighten):
    p = make_patient()
    tighten()
    answers = []
    for i in range(3):  # three addresses, one account
        c = TestClient(app, client=(f"198.51.100.{i}", 40000))
        answers.append(c.post("/v1/auth/token",
                              data={"username": p.email.upper(), "password": "wrong-guess"}))
    assert [r.status_code for r in answers[:2]] == [400, 400]  # invalid_grant
    _retry_after(answers[2])


def test_limits_are_shared_between_processes(client, make_patient, storage_factory, app):
    """Two limiters over the same store (two processes, or two replicas, of one deployment)
    count together."""
    p = make_patient()
    first, second = RateLimits(storage_factory(), BUDGETS), RateLimits(storage_factory(), BUDGETS)
    statuses = []
    current = [first]
    app.dependency_overrides[get_rate_limits] = lambda: current[0]
    try:
        for limits in (first, second, first, second, first):
            current[0] = limits
            statuses.append(client.get("/v1/patients/me", headers=p.headers).status_code)
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)
    assert statuses == [200, 200, 200, 200, 429]


def test_unreachable_store_lets_requests_through(client, make_patient, app, caplog):
    limits = RateLimits(build_storage("redis://127.0.0.1:9/0", "x"), BUDGETS)
    app.dependency_overrides[get_rate_limits] = lambda: limits
    try:
        p = make_patient()
        statuses = [client.get("/v1/patients/me", headers=p.headers).status_code
                    for _ in range(6)]
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)
    assert statuses == [200] * 6
    assert "rate limit store unavailable" in caplog.text


def test_default_store_follows_redis_url(monkeypatch):
    from limits.storage import MemoryStorage, RedisStorage

    from tests.helpers import reset_caches

    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    reset_caches()
    try:
        assert isinstance(build_rate_limits().storage, RedisStorage)
        monkeypatch.delenv("REDIS_URL")
        reset_caches()
        assert isinstance(build_rate_limits().storage, MemoryStorage)
    finally:
        monkeypatch.undo()
        reset_caches()
