"""SPEC §2 `DELETE /v1/patients/me`: every piece of the patient's health data goes, in every
table; the audit record keeps that it happened, without health values."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table in the metadata
from tests.helpers import entry, session_body


def _rows_holding(engine, needles: list[str], skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Per table, the rows in which any needle appears in any column."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            n = sum(1 for row in conn.execute(select(table))
                    if any(needle in repr(tuple(row)) for needle in needles))
            if n:
                found[table.name] = n
    return found


def test_erasure_leaves_nothing_of_the_patient_but_the_audit(client, make_patient,
                                                             make_clinician, link, engine,
                                                             admin, settle):
    p, c = make_patient(), make_clinician()
    link(p, c)
    marker = f"marker-{uuid.uuid4()}"  # stands for health data: must vanish everywhere
    h, key = p.headers, {"Idempotency-Key": str(uuid.uuid4())}
    pid = f"/v1/patients/{p.id}"
    assert client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                      json=entry(notes=marker)).status_code == 201
    assert client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                      json=entry(6, notes=marker)).status_code == 200
    assert client.post("/v1/patients/me/exercise-sessions", headers={**h, **key},
                       json=session_body(notes=marker)).status_code == 201
    plan = client.post(f"{pid}/exercise-plans", headers=c.headers, json={
        "activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
        "start_date": "2026-01-05", "instructions": marker})
    assert client.patch(f"{pid}/exercise-plans/{plan.json()['id']}", headers=c.headers,
                        json={"sessions_per_week": 4}).status_code == 200
    assert client.post(f"{pid}/notes", headers={**c.headers, **key},
                       json={"text": marker}).status_code == 201
    assert client.post("/v1/patients/me/questionnaires", headers=h, json={
        "instrument": "koos", "completed_on": "2026-01-05", "answers": {"Q1": 1, "Q2": 2}},
    ).status_code == 201
    assert client.post("/v1/patients/me/sync", headers=h, json={"symptom_entries": [
        {"entry_date": "2026-01-06", **entry(notes=marker)}]}).status_code == 200
    t = client.post(f"{pid}/treatments", headers=c.headers, json={
        "kind": "genicular_artery_embolisation", "knee": "left", "date": "2026-01-05",
        "notes": marker})
    assert client.patch(f"{pid}/treatments/{t.json()['id']}", headers=h,
                        json={"knee": "both"}).status_code == 200
    assert client.post("/v1/patients/me/function-tests", headers=h, json={
        "test": "tug", "performed_on": "2026-01-05", "value": 11.5}).status_code == 201
    assert client.post("/v1/api-keys", headers=h,
                       json={"name": marker, "scopes": ["read"]}).status_code == 201
    assert client.get("/v1/patients/me/export.csv?kind=symptoms", headers=h).status_code == 200
    other = make_clinician()  # a pending request to join her care team
    assert client.post("/v1/patients/me/care-team", headers=h,
                       json={"clinician_id": other.id}).status_code == 202

    # Her flag state: an episode (a fall), reviewed, and a write still queued for the worker.
    assert client.put("/v1/patients/me/symptom-entries/2026-02-10", headers=h,
                      json=entry(3, falls=1)).status_code == 201
    settle()
    flags = client.get(f"{pid}/flags", headers=c.headers).json()["items"]
    fall = next(f for f in flags if f["rule"] == "fall")
    assert client.post(f"{pid}/flags/{fall['id']}/review", headers=c.headers,
                       json={"note": marker}).status_code == 200
    assert client.put("/v1/patients/me/symptom-entries/2026-02-11", headers=h,
                      json=entry(3)).status_code == 201

    before = _rows_holding(engine, [p.id, marker])
    for table in ("symptom_entries", "revisions", "exercise_sessions", "exercise_plans",
                  "clinical_notes", "questionnaire_responses", "changes", "idempotency_keys",
                  "api_keys", "refresh_tokens", "care_team_members", "care_team_requests",
                  "patients", "users", "audit_events", "treatments", "function_tests",
                  "flag_episodes", "flag_reviews", "patient_states", "state_queue"):
        assert before.get(table), f"the test wrote nothing to {table}"
    tables_with_patient_id = {t.name for t in SQLModel.metadata.sorted_tables
                              if "patient_id" in t.c}
    assert tables_with_patient_id - {"audit_events"} <= set(before), "a table went untested"

    r = client.request("DELETE", "/v1/patients/me", headers=h, json={"password": p.password})
    assert r.status_code == 204

    # Nothing of the patient anywhere but the audit record, and no health value even there.
    assert _rows_holding(engine, [p.id, marker], skip=("audit_events",)) == {}
    assert _rows_holding(engine, [marker]) == {}
    events = client.get("/v1/admin/audit-events", headers=admin.headers,
                        params={"patient_id": p.id, "limit": 200}).json()["items"]
    erasure = [e for e in events if e["resource"] == "DELETE /v1/patients/{pid}"]
    assert [(e["actor_id"], e["outcome"], e["status"]) for e in erasure] == [
        (p.id, "allowed", 204)]
    # The clinician who wrote notes and plans for the patient keeps their own account.
    assert client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"] == []
