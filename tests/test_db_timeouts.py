"""A transaction that holds a patient's lock and never ends (its client gone behind a network
partition, unseen by PostgreSQL) must not make that patient's requests hang: they answer 503
with Retry-After after the lock timeout, and the server ends such a transaction by itself."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.helpers import assert_problem, entry


@pytest.fixture()
def postgres_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("row locks and session timeouts are PostgreSQL's")


@contextlib.contextmanager
def _locked(engine: Any, patient_id: str) -> Iterator[None]:
    """The patient's row lock held by another connection (an orphaned transaction)."""
    blocker = engine.connect()
    try:
        tx = blocker.begin()
        blocker.execute(text("SELECT id FROM patients WHERE id = :pid FOR UPDATE"),
                        {"pid": patient_id})
        yield
        tx.rollback()
    finally:
        blocker.close()


def test_a_request_waiting_on_an_orphaned_lock_answers_503(
    postgres_only, client, make_patient, engine
):
    p = make_patient()
    day = "/v1/patients/me/symptom-entries/2026-01-05"
    with _locked(engine, p.id):
        r = client.put(day, headers=p.headers, json=entry(4))
        assert_problem(r, 503)
        assert int(r.headers["Retry-After"]) >= 1
    assert client.get(day, headers=p.headers).status_code == 404  # nothing half-written
    assert client.put(day, headers=p.headers, json=entry(4)).status_code == 201


def test_the_server_ends_transactions_left_idle(postgres_only, engine):
    from app.config import get_settings

    s = get_settings()
    with engine.connect() as conn:
        idle = conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one()
        lock = conn.execute(text("SHOW lock_timeout")).scalar_one()
        # A session cut off mid-pipeline is "active", not idle: the server's keepalives end it.
        keepalive = [
            conn.execute(text(f"SHOW tcp_keepalives_{name}")).scalar_one()
            for name in ("idle", "interval", "count")
        ]
    assert idle == f"{int(s.db_idle_in_transaction_seconds)}s"
    assert lock == f"{int(s.db_lock_timeout_seconds)}s"
    assert keepalive == ["10", "5", "3"]


def test_a_put_on_the_single_hop_path_waits_out_the_lock_once(
    postgres_only, client, make_patient, engine
):
    """The single-hop PUT answers the general path's 503 itself: one `lock_timeout`, not one
    on each path."""
    import time

    from app.config import get_settings

    p = make_patient()
    day = "/v1/patients/me/symptom-entries/2026-01-06"
    with _locked(engine, p.id):
        start = time.monotonic()
        r = client.put(day, headers=p.headers, json=entry(4))
        waited = time.monotonic() - start
    assert_problem(r, 503)
    assert waited < 2 * get_settings().db_lock_timeout_seconds, waited
    assert client.put(day, headers=p.headers, json=entry(4)).status_code == 201
