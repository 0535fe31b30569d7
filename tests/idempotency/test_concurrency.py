"""Sixteen clients send one POST with one Idempotency-Key at the same moment to a real server
(two worker processes): exactly one row is created, and every answer is that 201 (first or
replayed) or a 409 "still in flight"."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from tests.helpers import session_body

CLIENTS = 16


def _count(engine, table: str, column: str, value: str) -> int:
    v = uuid.UUID(value).hex if engine.dialect.name == "sqlite" and column != "scope" else value
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :v"),
                                {"v": v}).scalar_one())


def test_sixteen_concurrent_posts_with_one_key_make_one_row(live_server, make_patient, engine):
    p = make_patient()
    headers = {**p.headers, "Idempotency-Key": str(uuid.uuid4())}
    body = session_body(notes="concurrent")
    barrier = threading.Barrier(CLIENTS)

    def call(_: int) -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=60) as c:
            c.get("/healthz")  # connect first, so that the posts leave together
            barrier.wait()
            return c.post("/v1/patients/me/exercise-sessions", headers=headers, json=body)

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(call, range(CLIENTS)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    assert len({r.content for r in created}) == 1
    assert len({r.headers["Location"] for r in created}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in created) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.headers["content-type"].startswith("application/problem+json")
            # Its own type: the same request still running, not a conflict with the record.
            assert r.json()["type"].endswith("/problems/idempotency-key-in-flight")
            assert int(r.headers["Retry-After"]) >= 1
    assert _count(engine, "exercise_sessions", "patient_id", p.id) == 1
    assert _count(engine, "changes", "patient_id", p.id) == 1
    assert _count(engine, "idempotency_keys", "scope", p.id) == 1
    # After the dust settles, the key replays for everyone.
    r = httpx.post(f"{live_server}/v1/patients/me/exercise-sessions", headers=headers, json=body)
    assert r.status_code == 201 and r.content == created[0].content
