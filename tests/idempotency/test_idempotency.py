"""Idempotency-Key on creating POSTs: replay, mismatch, scoping, expiry, one transaction."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import text

from app.main import iter_api_routes
from tests.helpers import assert_problem, session_body

URL = "/v1/patients/me/exercise-sessions"


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _sessions(engine, patient_id: str) -> int:
    return _count(engine, "SELECT count(*) FROM exercise_sessions WHERE patient_id = :p",
                  p=uuid.UUID(patient_id).hex if engine.dialect.name == "sqlite" else patient_id)


def test_same_key_and_body_replays_the_first_answer(client, make_patient, engine):
    p = make_patient()
    h = {**p.headers, **_key()}
    body = session_body()
    r1 = client.post(URL, headers=h, json=body)
    assert r1.status_code == 201, r1.text
    assert "Idempotent-Replayed" not in r1.headers
    # Key order and whitespace do not matter: the body is compared as JSON.
    r2 = client.post(URL, headers={**h, "Content-Type": "application/json"},
                     content=json.dumps(dict(reversed(body.items())), indent=2))
    assert r2.status_code == 201
    assert r2.json() == r1.json()
    assert r2.headers["Location"] == r1.headers["Location"]
    assert r2.headers["ETag"] == r1.headers["ETag"]
    assert r2.headers["Idempotent-Replayed"] == "true"
    assert _sessions(engine, p.id) == 1
    # Without a key, every POST creates.
    assert client.post(URL, headers=p.headers, json=body).status_code == 201
    assert _sessions(engine, p.id) == 2


def test_same_key_with_another_body_or_path_is_422(client, make_patient, engine):
    p = make_patient()
    h = {**p.headers, **_key()}
    assert client.post(URL, headers=h, json=session_body()).status_code == 201
    r = client.post(URL, headers=h, json=session_body(duration_minutes=99))
    assert_problem(r, 422, "Idempotency-Key")
    r = client.post("/v1/invitations", headers=h)  # a patient may not, but the key is checked
    assert r.status_code in (403, 422)
    assert _sessions(engine, p.id) == 1


def test_keys_are_scoped_to_the_caller(client, make_patient, engine):
    a, b = make_patient(), make_patient()
    key = _key()
    body = session_body()
    ra = client.post(URL, headers={**a.headers, **key}, json=body)
    rb = client.post(URL, headers={**b.headers, **key}, json=body)
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]
    assert _sessions(engine, a.id) == _sessions(engine, b.id) == 1


def test_a_failed_request_stores_nothing_and_can_be_retried(client, make_patient, engine):
    p = make_patient()
    h = {**p.headers, **_key()}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    assert client.post(URL, headers=h, json=session_body(started_at=future)).status_code == 422
    # The same key now with a valid body runs (the failure left no key behind).
    r = client.post(URL, headers=h, json=session_body())
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert _sessions(engine, p.id) == 1


def test_malformed_key_is_422(client, make_patient):
    p = make_patient()
    r = client.post(URL, headers={**p.headers, "Idempotency-Key": "x" * 256}, json=session_body())
    assert_problem(r, 422, "Idempotency-Key")


def test_register_replays_by_key_and_body(client):
    email = f"p-{uuid.uuid4().hex[:12]}@example.org"
    body = {"email": email, "password": "a-long-test-password", "display_name": "R",
            "timezone": "Europe/Paris"}
    key = _key()
    r1 = client.post("/v1/auth/register", headers=key, json=body)
    r2 = client.post("/v1/auth/register", headers=key, json=body)
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json() and r2.headers["Idempotent-Replayed"] == "true"
    # Another body (another password) with the same key is refused, not replayed.
    r3 = client.post("/v1/auth/register", headers=key, json={**body, "password": "b" * 12})
    assert_problem(r3, 422, "Idempotency-Key")
    # Without the key, the duplicate sign-up is what it always was (a conflict).
    assert client.post("/v1/auth/register", json=body).status_code == 409


def test_invitation_and_grant_replay(client, make_patient, make_clinician, engine):
    c = make_clinician()
    key = _key()
    r1 = client.post("/v1/invitations", headers={**c.headers, **key})
    r2 = client.post("/v1/invitations", headers={**c.headers, **key})
    assert r1.status_code == r2.status_code == 201 and r1.json()["code"] == r2.json()["code"]
    p = make_patient()
    key = _key()
    body = {"clinician_id": c.id}
    g1 = client.post("/v1/patients/me/care-team", headers={**p.headers, **key}, json=body)
    g2 = client.post("/v1/patients/me/care-team", headers={**p.headers, **key}, json=body)
    assert g1.status_code == g2.status_code == 202 and g1.json() == g2.json()


def test_expired_keys_are_forgotten_and_purged(client, make_patient, pinned_now, engine):
    from sqlmodel import Session

    from app.idempotency.service import purge_expired

    p = make_patient()
    h = {**p.headers, **_key()}
    start = dt.datetime.now(dt.UTC)
    pinned_now(start)
    body = session_body()
    first = client.post(URL, headers=h, json=body)
    assert first.status_code == 201
    pinned_now(start + dt.timedelta(days=29))
    assert client.post(URL, headers=h, json=body).headers.get("Idempotent-Replayed") == "true"
    pinned_now(start + dt.timedelta(days=30, seconds=1))
    again = client.post(URL, headers=h, json=body)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    scope = p.id
    with Session(engine) as s:
        s.execute(text("UPDATE idempotency_keys SET expires_at = :t WHERE scope = :s"),
                  {"t": start - dt.timedelta(days=1), "s": scope})
        s.commit()
        assert purge_expired(s, dt.datetime.now(dt.UTC)) >= 1
        s.commit()
    assert _count(engine, "SELECT count(*) FROM idempotency_keys WHERE scope = :s", s=scope) == 0


def test_erasing_the_account_erases_its_stored_answers(client, make_patient, engine):
    p = make_patient()
    assert client.post(URL, headers={**p.headers, **_key()}, json=session_body()).status_code == 201
    assert _count(engine, "SELECT count(*) FROM idempotency_keys WHERE scope = :s", s=p.id) == 1
    r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                       json={"password": p.password})
    assert r.status_code == 204
    assert _count(engine, "SELECT count(*) FROM idempotency_keys WHERE scope = :s", s=p.id) == 0


def _walk(dependant):
    calls = {dependant.call}
    for d in dependant.dependencies:
        calls |= _walk(d)
    return calls


# POSTs that deliberately do not store their answer, and why.
NOT_IDEMPOTENT = {
    # The answer shows the new key's secret, which is kept nowhere but as a keyed hash.
    "/v1/api-keys": "the answer holds a secret",
}


def test_every_creating_post_honours_idempotency_key(app):
    """A POST that answers 201 must declare `dependencies=[Idempotent]` (or
    `IdempotentAnonymous`) and belong to a router with `route_class=IdempotentRoute`."""
    from app.idempotency.dependencies import GUARDS, IdempotentRoute

    missing = [
        r.path
        for r in iter_api_routes(app.routes)
        if "POST" in r.methods and r.status_code == 201 and r.path not in NOT_IDEMPOTENT
        and not (_walk(r.dependant) & set(GUARDS) and isinstance(r, IdempotentRoute))
    ]
    assert missing == []
    assert any(r.path == "/v1/auth/register" for r in iter_api_routes(app.routes))


def test_a_replay_needs_access_now(client, make_patient, make_clinician, link):
    """The access policy runs before the key is looked at: a clinician removed from the care
    team cannot read a stored answer by replaying its key."""
    p, c = make_patient(), make_clinician()
    link(p, c)
    key = _key()
    plan = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
            "start_date": "2026-01-05"}
    url = f"/v1/patients/{p.id}/exercise-plans"
    assert client.post(url, headers={**c.headers, **key}, json=plan).status_code == 201
    assert client.post(url, headers={**c.headers, **key}, json=plan).status_code == 201
    assert client.delete(f"/v1/patients/{p.id}/care-team/{c.id}",
                         headers=p.headers).status_code == 204
    assert_problem(client.post(url, headers={**c.headers, **key}, json=plan), 404)


def test_a_key_still_in_flight_is_a_409_of_its_own_type(client, make_patient):
    """Told apart from a real conflict (an email taken): retrying it later will work."""
    from fastapi import Request

    from app.errors import problem_response
    from app.idempotency.service import in_flight

    error = in_flight()
    assert error.status == 409 and error.headers == {"Retry-After": "1"}
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [], "query_string": b""}
    body = problem_response(Request(scope), error.status, slug=error.slug,
                            detail=error.detail).body
    assert b"/problems/idempotency-key-in-flight" in body
    taken = client.post("/v1/auth/register", json={
        "email": make_patient().email, "password": "violet kettle harbour",
        "display_name": "X", "timezone": "UTC"})
    assert taken.status_code == 409 and taken.json()["type"].endswith("/problems/conflict")
