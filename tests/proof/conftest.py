"""Fixtures for the proofs: a live uvicorn on loopback, over the same database as the
in-process app, and accounts to run the conformance tests as."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import tests.proof.st_hooks  # noqa: F401  (importing it registers its hooks)
from tests.conftest import PASSWORD, Account


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app: Any, database_url: str, tmp_path_factory: Any) -> Iterator[str]:
    """`kneetrack serve` (uvicorn, exactly as deployed) on a free loopback port; its base URL."""
    port = free_port()
    # The run signs in again after every sign-out it provokes: room for that in the budget.
    env = {**os.environ, "DATABASE_URL": database_url, "KNEETRACK_LOG_LEVEL": "WARNING",
           "KNEETRACK_RATE_LIMIT_TOKEN_ACCOUNT": "100000/minute"}
    log = tmp_path_factory.mktemp("live") / "server.log"
    with log.open("w") as out:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    # Not tests.helpers.uvicorn_server: that runs bare uvicorn, and what is proven here is the
    # command that is deployed (Dockerfile, compose), with its options (no Server header).
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def register_over_http(base: str, **extra: Any) -> Account:
    email = f"live-{uuid.uuid4().hex[:12]}@example.org"
    r = httpx.post(f"{base}/v1/auth/register", json={
        "email": email, "password": PASSWORD, "display_name": "Live", "timezone": "Europe/London",
        **extra})
    assert r.status_code == 201, r.text
    return _signed_in(base, email, r.json()["id"], "patient")


def clinician_over_http(base: str, admin: Account) -> Account:
    email = f"live-c-{uuid.uuid4().hex[:12]}@example.org"
    r = httpx.post(f"{base}/v1/admin/clinicians", headers=admin.headers,
                   json={"email": email, "password": PASSWORD, "display_name": "Dr Live"})
    assert r.status_code == 201, r.text
    return _signed_in(base, email, r.json()["id"], "clinician")


def _signed_in(base: str, email: str, uid: str, role: str) -> Account:
    r = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    t = r.json()
    return Account(id=uid, email=email, role=role, token=t["access_token"],
                   refresh_token=t["refresh_token"])
