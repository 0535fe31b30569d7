"""The state worker under a real server (docs/flags.md): a write's episodes are stored within
the stated delay, and a server that stops between a write and the worker's pass leaves the
write queued, so that the next server catches up — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, drop_postgres_database, fresh_postgres_database
from tests.helpers import uvicorn_server

pytestmark = pytest.mark.slow

MAX_DELAY_SECONDS = 5.0  # docs/flags.md: the interval (1 s by default) plus one pass


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'worker.db'}"
        return
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"kneetrack_worker_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = fresh_postgres_database(name)
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)
    try:
        yield url
    finally:
        drop_postgres_database(name)


def _env(database: str, interval: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database, "KNEETRACK_STATE_INTERVAL_SECONDS": interval}
    env.pop("REDIS_URL", None)
    return env


def _patient(base: str) -> dict[str, str]:
    email = f"w-{uuid.uuid4().hex[:8]}@example.org"
    r = httpx.post(f"{base}/v1/auth/register", json={
        "email": email, "password": PASSWORD, "display_name": "W", "timezone": "UTC"})
    assert r.status_code == 201, r.text
    r = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _hot_knee(base: str, headers: dict[str, str]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    body = {"knees": {"right": {"pain": 4, "swelling": 3, "warmth": True}}}
    r = httpx.put(f"{base}/v1/patients/me/symptom-entries/{today}", headers=headers, json=body)
    assert r.status_code == 201, r.text


def _flags(base: str, headers: dict[str, str]) -> dict:
    r = httpx.get(f"{base}/v1/patients/me/flags", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_write_is_in_the_episodes_within_the_stated_delay(database: str) -> None:
    with uvicorn_server(_env(database, "1")) as base:
        headers = _patient(base)
        _hot_knee(base, headers)
        written = time.monotonic()
        while not (body := _flags(base, headers))["items"]:
            assert body["pending"] is True
            assert time.monotonic() - written < MAX_DELAY_SECONDS, "not stored in time"
            time.sleep(0.05)
        assert [f["rule"] for f in body["items"]] == ["hot_swollen_joint"]
        assert body["pending"] is False


def test_a_write_left_behind_by_a_stopped_server_is_caught_up(database: str) -> None:
    with uvicorn_server(_env(database, "0")) as base:  # its worker off: nothing taken in
        headers = _patient(base)
        _hot_knee(base, headers)
        time.sleep(0.5)
        stale = _flags(base, headers)
        assert stale["pending"] is True and stale["items"] == []
    with uvicorn_server(_env(database, "0.2")) as base:  # the next server's worker
        deadline = time.monotonic() + MAX_DELAY_SECONDS
        while not (body := _flags(base, headers))["items"]:
            assert time.monotonic() < deadline, "the queued write was never taken in"
            time.sleep(0.05)
        assert [f["rule"] for f in body["items"]] == ["hot_swollen_joint"]
