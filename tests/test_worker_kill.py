"""A server process killed with SIGKILL in the middle of a POST: the client's retry with the
same Idempotency-Key, on the server that replaces it, completes exactly once.

The kill lands mid-request deterministically: the API reaches PostgreSQL through a proxy of
the test's own (tests/faults.py) that holds the request's COMMIT — either on its way to the
database (the work is done but not committed) or on its way back (committed, but the API never
learns it). The process is killed while it waits; then the proxy drops the held connection."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PASSWORD
from tests.faults import TcpProxy, proxied_database
from tests.helpers import session_body, uvicorn_process

pytestmark = pytest.mark.slow

SESSIONS = "/v1/patients/me/exercise-sessions"


@dataclass
class Setup:
    env: dict[str, str]
    proxy: TcpProxy
    direct: str
    log: Path


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[Setup]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    with proxied_database("kneetrack_kill") as (direct, through_proxy, proxy):
        env = {**os.environ, "KNEETRACK_ENVIRONMENT": "test", "DATABASE_URL": through_proxy}
        env.pop("REDIS_URL", None)
        yield Setup(env, proxy, direct, tmp_path / "server.log")


def _rows(direct: str, notes: str) -> list[str]:
    engine = create_engine(make_url(direct).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return [str(r[0]) for r in conn.execute(
                text("SELECT id FROM exercise_sessions WHERE notes = :n"), {"n": notes})]
    finally:
        engine.dispose()


@pytest.mark.parametrize("held", ["commit-sent", "commit-answered"])
def test_retry_after_sigkill_mid_request_completes_once(setup: Setup, held: str) -> None:
    key = f"kill-{uuid.uuid4().hex}"
    body = session_body(notes=key)
    with uvicorn_process(setup.env, log=setup.log) as (base, server):
        email = f"kill-{uuid.uuid4().hex[:8]}@example.org"
        r = httpx.post(f"{base}/v1/auth/register", json={
            "email": email, "password": PASSWORD, "display_name": "K",
            "timezone": "Europe/London"})
        assert r.status_code == 201, r.text
        r = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}",
                   "Idempotency-Key": key}
        # PostgreSQL's answer to COMMIT is a CommandComplete tagged "COMMIT"; the request is a
        # simple query "COMMIT". Both end with a NUL.
        reached = setup.proxy.hold(b"COMMIT\x00", to_server=held == "commit-sent")
        outcome: list[object] = []

        def first_attempt() -> None:
            try:
                outcome.append(httpx.post(f"{base}{SESSIONS}", headers=headers, json=body,
                                          timeout=30).status_code)
            except httpx.HTTPError as exc:
                outcome.append(type(exc).__name__)

        attempt = threading.Thread(target=first_attempt)
        attempt.start()
        assert reached.wait(20), "the request never reached its COMMIT"
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
        attempt.join()
        setup.proxy.release()
    # The client saw no answer: the connection died with the process.
    assert outcome and not isinstance(outcome[0], int), outcome
    # Held on its way to the database: nothing was committed; held on its way back: it was.
    assert len(_rows(setup.direct, key)) == (0 if held == "commit-sent" else 1)
    # A new server process (the supervisor's restart, or another replica) takes the retry.
    with uvicorn_process(setup.env, log=setup.log) as (base, _):
        retry = httpx.post(f"{base}{SESSIONS}", headers=headers, json=body, timeout=30)
        assert retry.status_code == 201, retry.text
        again = httpx.post(f"{base}{SESSIONS}", headers=headers, json=body, timeout=30)
        assert (again.status_code, again.json()) == (201, retry.json())
    assert _rows(setup.direct, key) == [retry.json()["id"]]
