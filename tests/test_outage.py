"""Database outages against a real server: uvicorn runs the API against PostgreSQL through a
TCP proxy that the test cuts. Every answer during the outage must be 503 problem+json with
Retry-After, promptly; after the cut is repaired the same process serves again.

The real PostgreSQL server is never touched: only the proxy between it and the API is cut.
Figures (latency of the 503s, time to recover) are printed: run with `-s` to see them."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PASSWORD, drop_postgres_database, fresh_postgres_database
from tests.faults import Mode, TcpProxy
from tests.helpers import entry, uvicorn_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# A hang shows up as the client's own timeout; the server's budget is a few seconds
# (pool timeout + connect timeout, see app/db.py), far below it.
CLIENT_TIMEOUT = 30.0
HANG = 20.0


@dataclass
class Live:
    base: str
    proxy: TcpProxy
    headers: dict[str, str]
    email: str
    log: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"kneetrack_outage_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    direct = fresh_postgres_database(name)
    from app.migrate import upgrade_to_head

    upgrade_to_head(direct)
    url = make_url(direct)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )
    log = tmp_path_factory.mktemp("outage") / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": through_proxy,
        "KNEETRACK_ENVIRONMENT": "test",
        "KNEETRACK_RATE_LIMIT_PRINCIPAL": "100000/minute",
        "KNEETRACK_RATE_LIMIT_TOKEN_IP": "100000/minute",
        "KNEETRACK_RATE_LIMIT_TOKEN_ACCOUNT": "100000/minute",
    }
    env.pop("REDIS_URL", None)
    try:
        with uvicorn_server(env, log=log) as base:
            email = f"outage-{uuid.uuid4().hex[:8]}@example.org"
            r = httpx.post(f"{base}/v1/auth/register", json={
                "email": email, "password": PASSWORD, "display_name": "O",
                "timezone": "Europe/London"})
            assert r.status_code == 201, r.text
            r = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            yield Live(base, proxy, headers, email, log)
    finally:
        proxy.close()
        drop_postgres_database(name)


def _calls(live: Live) -> list[tuple[str, str, dict[str, Any]]]:
    """A mix of what clients do: reads, writes, sign-in, readiness."""
    day = "/v1/patients/me/symptom-entries/2026-01-05"
    return [
        ("PUT", day, {"headers": live.headers, "json": entry(4)}),
        ("GET", day, {"headers": live.headers}),
        ("GET", "/v1/patients/me/symptom-entries", {"headers": live.headers}),
        ("GET", "/v1/patients/me", {"headers": live.headers}),
        ("POST", "/v1/auth/token", {"data": {"username": live.email, "password": PASSWORD}}),
        ("GET", "/readyz", {}),
    ]


def _timed(live: Live, call: tuple[str, str, dict[str, Any]]) -> tuple[httpx.Response, float]:
    method, path, kw = call
    start = time.monotonic()
    r = httpx.request(method, live.base + path, timeout=CLIENT_TIMEOUT, **kw)
    return r, time.monotonic() - start


def _healthy(live: Live) -> None:
    for call in _calls(live):
        r, _ = _timed(live, call)
        assert r.status_code in (200, 201), (call, r.status_code, r.text)


@pytest.mark.parametrize("mode", ["refuse", "blackhole", "freeze"])
def test_outage_answers_503_promptly_and_recovers(live: Live, mode: Mode) -> None:
    _healthy(live)  # warm: the pool holds open connections through the proxy
    live.proxy.set_mode(mode)
    try:
        calls = _calls(live) * 3  # 18 concurrent requests
        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(lambda c: _timed(live, c), calls))
        # ... and once more, now that the pool has been through the failure.
        answers += [_timed(live, c) for c in _calls(live)]
    finally:
        live.proxy.set_mode("forward")
    restored = time.monotonic()
    latencies = sorted(t for _, t in answers)
    for (r, took), call in zip(answers, calls + _calls(live), strict=True):
        assert r.status_code == 503, (mode, call[:2], r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["Retry-After"]) >= 1
        assert took < HANG, (mode, call[:2], took)
    # Recovery without a restart: poll until a read succeeds, then everything works.
    while True:
        r, _ = _timed(live, _calls(live)[0])
        if r.status_code == 200:
            break
        assert r.status_code == 503, r.text
        assert time.monotonic() - restored < 60, "no recovery"
        time.sleep(0.1)
    recovered = time.monotonic() - restored
    _healthy(live)
    print(
        f"\n[outage:{mode}] {len(answers)} answers, all 503 + Retry-After; latency "
        f"min {latencies[0]:.2f}s median {latencies[len(latencies) // 2]:.2f}s "
        f"max {latencies[-1]:.2f}s; recovered {recovered:.2f}s after the database returned"
    )
