from __future__ import annotations

import logging
import uuid

from tests.helpers import assert_problem, entry


def _create(client, account, scopes, name="integration"):
    r = client.post("/v1/api-keys", headers=account.headers, json={"name": name, "scopes": scopes})
    assert r.status_code == 201, r.text
    return r.json()


def _key(secret):
    return {"X-API-Key": secret}


def test_create_shows_secret_once_and_stores_only_a_keyed_hash(client, make_patient, engine):
    p = make_patient()
    created = _create(client, p, ["read", "write"])
    secret = created["key"]
    assert secret.startswith("kt_live_") and len(secret) > 40
    assert secret.startswith(created["prefix"])
    assert created["scopes"] == ["read", "write"] and created["revoked"] is False
    listed = client.get("/v1/api-keys", headers=p.headers)
    one = client.get(f"/v1/api-keys/{created['id']}", headers=p.headers)
    assert listed.status_code == one.status_code == 200
    assert secret not in listed.text and secret not in one.text
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]
    assert set(one.json()) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at",
                               "revoked", "revoked_at"}
    from sqlalchemy import text

    from app.auth.security import keyed_hash

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys WHERE id = :i"),
                              {"i": uuid.UUID(created["id"]).hex if engine.dialect.name ==
                               "sqlite" else created["id"]}).scalar_one()
    assert stored == keyed_hash(secret) and secret not in stored


def test_key_acts_as_owner_narrowed_by_scopes(client, make_patient):
    p = make_patient()
    read_only = _create(client, p, ["read"])["key"]
    writer = _create(client, p, ["write"])["key"]
    url = "/v1/patients/me/symptom-entries/2026-01-05"
    # A write-only key writes but cannot read; a read-only key reads but cannot write.
    assert client.put(url, headers=_key(writer), json=entry()).status_code == 201
    assert_problem(client.get(url, headers=_key(writer)), 403)
    assert client.get(url, headers=_key(read_only)).status_code == 200
    assert_problem(client.put(url, headers=_key(read_only), json=entry(5)), 403)
    assert_problem(client.delete(url, headers=_key(read_only)), 403)
    assert client.get(url, headers=p.headers).json()["knees"]["left"]["pain"] == 3
    assert client.get("/v1/patients/me", headers=_key(read_only)).json()["id"] == p.id


def test_key_never_exceeds_its_owner(client, make_patient, make_clinician):
    p, other = make_patient(), make_patient()
    c = make_clinician()
    key = _create(client, c, ["read", "write", "export"])["key"]
    # The clinician is on nobody's care team: the key sees nothing.
    assert_problem(client.get(f"/v1/patients/{p.id}/symptom-entries", headers=_key(key)), 404)
    pkey = _create(client, p, ["read", "write", "export"])["key"]
    assert_problem(client.get(f"/v1/patients/{other.id}", headers=_key(pkey)), 404)
    # A patient's key cannot do a clinician's or an admin's work.
    assert_problem(client.post("/v1/invitations", headers=_key(pkey)), 403)


def test_unknown_and_revoked_keys_are_401(client, make_patient):
    p = make_patient()
    created = _create(client, p, ["read"])
    assert client.get("/v1/patients/me", headers=_key(created["key"])).status_code == 200
    r = client.delete(f"/v1/api-keys/{created['id']}", headers=p.headers)
    assert r.status_code == 204
    assert_problem(client.get("/v1/patients/me", headers=_key(created["key"])), 401)
    assert_problem(client.get("/v1/patients/me", headers=_key("kt_live_" + "x" * 43)), 401)
    listed = client.get("/v1/api-keys", headers=p.headers).json()["items"]
    assert listed[0]["revoked"] is True and listed[0]["revoked_at"]


def test_keys_cannot_manage_keys(client, make_patient):
    p = make_patient()
    created = _create(client, p, ["read", "write", "export"])
    h = _key(created["key"])
    assert_problem(client.post("/v1/api-keys", headers=h,
                               json={"name": "x", "scopes": ["read"]}), 403)
    assert_problem(client.get("/v1/api-keys", headers=h), 403)
    assert_problem(client.delete(f"/v1/api-keys/{created['id']}", headers=h), 403)
    assert client.get("/v1/patients/me", headers=h).status_code == 200


def test_keys_are_private_to_their_owner(client, make_patient):
    p, q = make_patient(), make_patient()
    created = _create(client, p, ["read"])
    assert_problem(client.get(f"/v1/api-keys/{created['id']}", headers=q.headers), 404)
    assert_problem(client.delete(f"/v1/api-keys/{created['id']}", headers=q.headers), 404)
    assert client.get("/v1/api-keys", headers=q.headers).json()["items"] == []
    assert client.get("/v1/patients/me", headers=_key(created["key"])).status_code == 200


def test_invalid_key_requests_are_422(client, make_patient):
    p = make_patient()
    for body, field in (({"name": "x", "scopes": ["admin"]}, "scopes.0"),
                        ({"name": "x", "scopes": []}, "scopes"),
                        ({"name": "", "scopes": ["read"]}, "name"),
                        ({"name": "x", "scopes": ["read"], "extra": 1}, "extra")):
        assert_problem(client.post("/v1/api-keys", headers=p.headers, json=body), 422, field)


def test_last_used_at_is_recorded(client, make_patient):
    p = make_patient()
    created = _create(client, p, ["read"])
    assert created["last_used_at"] is None
    client.get("/v1/patients/me", headers=_key(created["key"]))
    first = client.get(f"/v1/api-keys/{created['id']}", headers=p.headers).json()["last_used_at"]
    assert first is not None
    # Within the resolution window, further use does not rewrite the row.
    client.get("/v1/patients/me", headers=_key(created["key"]))
    again = client.get(f"/v1/api-keys/{created['id']}", headers=p.headers).json()["last_used_at"]
    assert again == first


def test_key_and_bearer_together_are_refused(client, make_patient):
    p = make_patient()
    key = _create(client, p, ["read"])["key"]
    assert_problem(client.get("/v1/patients/me", headers={**p.headers, **_key(key)}), 401)


def test_secret_never_reaches_the_logs(client, make_patient, caplog):
    p = make_patient()
    with caplog.at_level(logging.DEBUG):
        secret = _create(client, p, ["read"])["key"]
        client.get("/v1/patients/me", headers=_key(secret))
        client.get("/v1/api-keys", headers=p.headers)
        client.get("/v1/patients/me", headers=_key(secret + "x"))
    text = "\n".join(str(r.getMessage()) + str(r.__dict__) for r in caplog.records)
    assert "request" in text
    assert secret not in text and secret[len("kt_live_"):] not in text


def test_openapi_declares_the_api_key_scheme(client):
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("type") == "apiKey" and s.get("name") == "X-API-Key"
               and s.get("in") == "header" for s in schemes.values())


def test_account_erasure_removes_its_keys(client, make_patient):
    p = make_patient()
    key = _create(client, p, ["read"])["key"]
    r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                       json={"password": p.password})
    assert r.status_code == 204
    assert_problem(client.get("/v1/patients/me", headers=_key(key)), 401)


def test_openapi_states_each_operations_scope(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/v1/patients/{pid}/symptom-entries/{entry_date}"]["get"][
        "x-api-key-scope"] == "read"
    assert paths["/v1/patients/{pid}/symptom-entries/{entry_date}"]["put"][
        "x-api-key-scope"] == "write"
    assert "x-api-key-scope" not in paths["/v1/auth/token"]["post"]
