"""Two API processes on different ports sharing PostgreSQL and Redis (two replicas behind a load
balancer): idempotency keys, rate limits and revocations hold across them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PASSWORD, drop_postgres_database, fresh_postgres_database
from tests.helpers import session_body, uvicorn_server

pytestmark = pytest.mark.slow

SIGN_INS_PER_ACCOUNT = 6
REDIS_DB = 3  # not 0: other users of the shared Redis


@dataclass
class Pair:
    a: httpx.Client
    b: httpx.Client
    direct: str


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    import redis

    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"kneetrack-replicas-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    name = f"kneetrack_replicas_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    direct = fresh_postgres_database(name)
    from app.migrate import upgrade_to_head

    upgrade_to_head(direct)
    env = {**os.environ, "DATABASE_URL": direct, "KNEETRACK_ENVIRONMENT": "test",
           "REDIS_URL": redis_url, "KNEETRACK_RATE_LIMIT_KEY_PREFIX": prefix,
           "KNEETRACK_RATE_LIMIT_TOKEN_ACCOUNT": f"{SIGN_INS_PER_ACCOUNT}/minute"}
    logs = tmp_path_factory.mktemp("replicas")
    try:
        with (uvicorn_server(env, log=logs / "a.log") as base_a,
              uvicorn_server(env, log=logs / "b.log") as base_b,
              httpx.Client(base_url=base_a, timeout=30) as a,
              httpx.Client(base_url=base_b, timeout=30) as b):
            yield Pair(a, b, direct)
    finally:
        conn = redis.Redis.from_url(redis_url)
        for key in conn.scan_iter(f"{prefix}*"):
            conn.delete(key)
        drop_postgres_database(name)


def _patient(pair: Pair) -> tuple[str, dict[str, str]]:
    email = f"rep-{uuid.uuid4().hex[:10]}@example.org"
    r = pair.a.post("/v1/auth/register", json={
        "email": email, "password": PASSWORD, "display_name": "R", "timezone": "Europe/London"})
    assert r.status_code == 201, r.text
    return email, _sign_in(pair.b, email)


def _sign_in(client: httpx.Client, email: str) -> dict[str, str]:
    r = client.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_an_idempotency_key_used_on_a_is_replayed_on_b(pair: Pair) -> None:
    _, tokens = _patient(pair)
    key = f"rep-{uuid.uuid4().hex}"
    headers = {**_bearer(tokens), "Idempotency-Key": key}
    body = session_body(notes=key)
    first = pair.a.post("/v1/patients/me/exercise-sessions", headers=headers, json=body)
    assert first.status_code == 201, first.text
    replay = pair.b.post("/v1/patients/me/exercise-sessions", headers=headers, json=body)
    assert (replay.status_code, replay.json()) == (201, first.json())
    other = pair.b.post("/v1/patients/me/exercise-sessions", headers=headers,
                        json={**body, "duration_minutes": 16})
    assert other.status_code == 422, other.text
    engine = create_engine(make_url(pair.direct).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM exercise_sessions WHERE notes = :k"),
                         {"k": key}).scalar_one()
    engine.dispose()
    assert n == 1


def test_the_sign_in_limit_is_counted_over_both(pair: Pair) -> None:
    email, _ = _patient(pair)  # one sign-in, on B
    answers = []
    for i in range(2 * SIGN_INS_PER_ACCOUNT):
        replica = pair.a if i % 2 else pair.b
        r = replica.post("/v1/auth/token", data={"username": email, "password": PASSWORD})
        answers.append(r.status_code)
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) >= 1
    # N over both replicas, not N on each: after the first sign-in, N - 1 more, then 429s.
    assert answers == [200] * (SIGN_INS_PER_ACCOUNT - 1) + [429] * (
        SIGN_INS_PER_ACCOUNT + 1), answers


def test_sign_out_on_a_is_effective_on_b(pair: Pair) -> None:
    _, tokens = _patient(pair)
    assert pair.b.get("/v1/patients/me", headers=_bearer(tokens)).status_code == 200
    assert pair.a.post("/v1/auth/logout", headers=_bearer(tokens)).status_code == 204
    assert pair.b.get("/v1/patients/me", headers=_bearer(tokens)).status_code == 401
    r = pair.b.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401, r.text


def test_refresh_token_reuse_on_b_revokes_the_sign_in_made_on_a(pair: Pair) -> None:
    _, spent = _patient(pair)
    r = pair.a.post("/v1/auth/refresh", json={"refresh_token": spent["refresh_token"]})
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert pair.b.get("/v1/patients/me", headers=_bearer(fresh)).status_code == 200
    reuse = pair.b.post("/v1/auth/refresh", json={"refresh_token": spent["refresh_token"]})
    assert reuse.status_code == 401, reuse.text
    # The whole family is revoked, on both replicas.
    assert pair.a.get("/v1/patients/me", headers=_bearer(fresh)).status_code == 401
    r = pair.a.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert r.status_code == 401, r.text


def test_an_api_key_revoked_on_a_is_refused_on_b(pair: Pair) -> None:
    _, tokens = _patient(pair)
    r = pair.a.post("/v1/api-keys", headers=_bearer(tokens),
                    json={"name": "integration", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}
    assert pair.b.get("/v1/patients/me", headers=key).status_code == 200
    assert pair.a.delete(f"/v1/api-keys/{r.json()['id']}",
                         headers=_bearer(tokens)).status_code == 204
    r = pair.b.get("/v1/patients/me", headers=key)
    assert r.status_code == 401, r.text
