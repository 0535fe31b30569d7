from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.care.guards import ExportablePatient
from tests.helpers import assert_problem, entry

LOG_FIELDS = {"at", "actor_id", "actor_role", "via", "action", "resource", "outcome"}


def _log(client, patient, **params):
    r = client.get("/v1/patients/me/access-log", headers=patient.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _events(client, admin, **params):
    r = client.get("/v1/admin/audit-events", headers=admin.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_reads_writes_and_denials_are_recorded(client, make_patient, make_clinician, link,
                                               admin):
    p, stranger = make_patient(), make_clinician()
    c = make_clinician()
    link(p, c)
    url = "/v1/patients/{}/symptom-entries/2026-01-05"
    assert client.put(url.format("me"), headers=p.headers,
                      json=entry(notes="PRIVATE-NOTE")).status_code == 201
    assert client.get(url.format(p.id), headers=c.headers).status_code == 200
    assert_problem(client.get(url.format(p.id), headers=stranger.headers), 404)
    assert_problem(client.put(url.format(p.id), headers=c.headers, json=entry()), 403)
    items = _events(client, admin, patient_id=p.id)
    got = [(i["actor_id"], i["action"], i["outcome"], i["status"], i["resource"])
           for i in items[:4]]
    tmpl = "/v1/patients/{pid}/symptom-entries/{entry_date}"
    assert got == [
        (c.id, "write", "denied", 403, f"PUT {tmpl}"),
        (stranger.id, "read", "denied", 404, f"GET {tmpl}"),
        (c.id, "read", "allowed", 200, f"GET {tmpl}"),
        (p.id, "write", "allowed", 201, f"PUT {tmpl}"),
    ]


def test_record_holds_who_where_and_request_id(client, make_patient, admin):
    p = make_patient()
    r = client.get("/v1/patients/me", headers={**p.headers, "X-Request-ID": "req-abc-12345",
                                               "User-Agent": "KneeApp/1.0 " + "x" * 500})
    assert r.status_code == 200
    ev = _events(client, admin, patient_id=p.id)[0]
    assert ev["request_id"] == "req-abc-12345"
    assert ev["user_agent"].startswith("KneeApp/1.0") and len(ev["user_agent"]) == 200
    assert ev["client_ip"] == "testclient"
    assert ev["via"] == "token" and ev["api_key_id"] is None
    assert ev["actor_role"] == "patient" and ev["resource"] == "GET /v1/patients/{pid}"
    at = dt.datetime.fromisoformat(ev["at"])
    assert at.utcoffset() == dt.timedelta(0)


def test_audit_holds_no_health_values(client, make_patient, engine):
    p = make_patient()
    client.put("/v1/patients/me/symptom-entries/2026-01-07", headers=p.headers,
               json=entry(9, notes="SECRET-SYMPTOM-TEXT"))
    client.put("/v1/patients/me/symptom-entries/2026-01-08", headers=p.headers,
               json=entry(99, notes="SECRET-SYMPTOM-TEXT"))  # 422, recorded as failed
    client.get("/v1/patients/me/symptom-entries", headers=p.headers,
               params={"from": "2026-01-01", "to": "2026-01-31"})
    pid = uuid.UUID(p.id)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events WHERE patient_id = :p"),
                            {"p": pid.hex if engine.dialect.name == "sqlite" else pid}).all()
    dump = repr(rows)
    assert len(rows) == 3
    assert "SECRET" not in dump and "2026-01-0" not in dump.replace("2026-11", "")
    outcomes = sorted((r.action, r.outcome, r.status) for r in rows)
    assert outcomes == [("read", "allowed", 200), ("write", "allowed", 201),
                        ("write", "failed", 422)]


def test_api_key_use_is_recorded_with_the_key(client, make_patient, admin):
    p = make_patient()
    created = client.post("/v1/api-keys", headers=p.headers,
                          json={"name": "sync", "scopes": ["read"]}).json()
    h = {"X-API-Key": created["key"]}
    assert client.get("/v1/patients/me/symptom-entries", headers=h).status_code == 200
    assert_problem(client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                              json=entry()), 403)
    items = _events(client, admin, patient_id=p.id)
    assert [(i["via"], i["api_key_id"], i["action"], i["outcome"]) for i in items[:2]] == [
        ("api_key", created["id"], "write", "denied"),
        ("api_key", created["id"], "read", "allowed"),
    ]


def test_patient_reads_own_access_log_newest_first_paginated(client, make_patient,
                                                             make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    for _ in range(3):
        client.get(f"/v1/patients/{p.id}/symptom-entries", headers=c.headers)
    first = _log(client, p, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert set(first["items"][0]) == LOG_FIELDS
    second = _log(client, p, limit=2, cursor=first["next_cursor"])
    seen = first["items"] + second["items"]
    assert [i["at"] for i in seen] == sorted((i["at"] for i in seen), reverse=True)
    clinician_reads = [i for i in seen if i["actor_id"] == c.id]
    assert len(clinician_reads) >= 2
    assert all(i["actor_role"] == "clinician" and i["outcome"] == "allowed"
               for i in clinician_reads)
    # The care-team clinician may not read the patient's access log; others see nothing.
    assert_problem(client.get(f"/v1/patients/{p.id}/access-log", headers=c.headers), 403)
    assert_problem(client.get("/v1/patients/me/access-log", headers=c.headers), 404)
    assert_problem(client.get("/v1/patients/me/access-log", headers=p.headers,
                              params={"cursor": "bm9wZQ"}), 422)


def test_admin_filters(client, make_patient, admin):
    p, q = make_patient(), make_patient()
    client.get("/v1/patients/me", headers=p.headers)
    client.get("/v1/patients/me", headers=q.headers)
    assert {i["patient_id"] for i in _events(client, admin, patient_id=p.id)} == {p.id}
    assert {i["actor_id"] for i in _events(client, admin, actor_id=q.id)} == {q.id}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert _events(client, admin, patient_id=p.id, **{"from": future}) == []
    assert _events(client, admin, patient_id=p.id, to=future)
    page = client.get("/v1/admin/audit-events", headers=admin.headers, params={"limit": 1})
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    assert_problem(client.get("/v1/admin/audit-events", headers=p.headers), 403)
    assert_problem(client.get("/v1/admin/audit-events", headers=admin.headers,
                              params={"from": "2026-01-01T00:00:00"}), 422, "from")


def test_audit_survives_account_erasure(client, make_patient, admin):
    p = make_patient()
    client.get("/v1/patients/me", headers=p.headers)
    r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                       json={"password": p.password})
    assert r.status_code == 204
    items = _events(client, admin, patient_id=p.id)
    assert [(i["resource"], i["status"]) for i in items[:2]] == [
        ("DELETE /v1/patients/{pid}", 204), ("GET /v1/patients/{pid}", 200)]


def test_audit_is_append_only_in_the_database(client, make_patient, engine):
    from sqlalchemy.exc import DBAPIError

    p = make_patient()
    client.get("/v1/patients/me", headers=p.headers)
    for statement in ("UPDATE audit_events SET outcome = 'denied'", "DELETE FROM audit_events"):
        with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() > 0


BLOCK_INSERTS = {
    "sqlite": ["CREATE TRIGGER audit_block BEFORE INSERT ON audit_events "
               "BEGIN SELECT RAISE(ABORT, 'audit store full'); END"],
    "postgresql": [
        "CREATE FUNCTION audit_block() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit store full'; END $$",
        "CREATE TRIGGER audit_block BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_block()",
    ],
}
UNBLOCK = {"sqlite": ["DROP TRIGGER audit_block"],
           "postgresql": ["DROP TRIGGER audit_block ON audit_events",
                          "DROP FUNCTION audit_block()"]}


def test_failed_audit_write_fails_the_request(client, make_patient, engine):
    p = make_patient()
    dialect = engine.dialect.name
    with engine.begin() as conn:
        for statement in BLOCK_INSERTS[dialect]:
            conn.execute(text(statement))
    try:
        r = client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers,
                       json=entry())
        denied = client.get("/v1/patients/me/symptom-entries/2026-01-06", headers=p.headers)
    finally:
        with engine.begin() as conn:
            for statement in UNBLOCK[dialect]:
                conn.execute(text(statement))
    assert r.status_code == 500 and denied.status_code == 500
    # The entry was not written without its audit row.
    assert_problem(client.get("/v1/patients/me/symptom-entries/2026-01-05",
                              headers=p.headers), 404)


def test_export_routes_need_the_export_scope_and_are_recorded_as_exports(app, make_patient,
                                                                         admin):
    from app.auth.dependencies import get_current_actor
    from app.auth.scopes import mark_api_key_scopes
    from app.care.guards import ACCESS_DEPENDENCIES, exportable_patient
    from app.main import create_app, iter_api_routes

    application = create_app()
    router = APIRouter()

    @router.get("/v1/patients/{pid}/export.test")
    def export_test(patient: ExportablePatient) -> dict[str, str]:
        return {"id": str(patient.id)}

    application.include_router(router)
    mark_api_key_scopes(iter_api_routes(application.routes),
                        authenticated=(get_current_actor, *ACCESS_DEPENDENCIES),
                        export=exportable_patient)
    c = TestClient(application)
    p = make_patient()

    def key(scopes):
        r = c.post("/v1/api-keys", headers=p.headers, json={"name": "k", "scopes": scopes})
        return {"X-API-Key": r.json()["key"]}

    r = c.get("/v1/patients/me/export.test", headers=key(["export"]))
    assert r.status_code == 200, r.text
    assert_problem(c.get("/v1/patients/me/export.test", headers=key(["read"])), 403)
    assert c.get("/v1/patients/me/export.test", headers=p.headers).status_code == 200
    items = _events(c, admin, patient_id=p.id)
    assert [(i["action"], i["outcome"]) for i in items[:3]] == [
        ("export", "allowed"), ("export", "denied"), ("export", "allowed")]
    op = c.get("/openapi.json").json()["paths"]["/v1/patients/{pid}/export.test"]["get"]
    assert op["x-api-key-scope"] == "export"


def test_panel_views_show_in_each_patients_access_log(client, make_patient, make_clinician,
                                                      link):
    c = make_clinician()
    patients = [make_patient(), make_patient()]
    for p in patients:
        link(p, c)
    assert client.get("/v1/clinicians/me/patients", headers=c.headers).status_code == 200
    for p in patients:
        latest = next(i for i in _log(client, p)["items"] if i["actor_id"] == c.id)
        assert (latest["action"], latest["resource"], latest["outcome"]) == (
            "read", "GET /v1/clinicians/me/patients", "allowed")
