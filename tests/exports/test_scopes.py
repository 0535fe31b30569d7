"""Exports need the `export` scope on an API key: `read` is not enough, and `export` alone is."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem


def _key(client, account, scopes):
    r = client.post("/v1/api-keys", headers=account.headers,
                    json={"name": "export test", "scopes": scopes})
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


@pytest.mark.parametrize("path", ["export.csv?kind=symptoms", "export.fhir"])
def test_export_needs_the_export_scope(client, history, path):
    url = f"/v1/patients/{history.id}/{path}"
    body = assert_problem(client.get(url, headers=_key(client, history, ["read", "write"])), 403)
    assert "export" in body["detail"]
    assert client.get(url, headers=_key(client, history, ["export"])).status_code == 200
    assert client.get(url, headers=_key(client, history, ["read", "export"])).status_code == 200


def test_an_export_key_reads_nothing_else(client, history):
    key = _key(client, history, ["export"])
    assert_problem(client.get("/v1/patients/me/symptom-entries", headers=key), 403)


def test_exports_are_in_the_access_log_as_exports(client, history, make_clinician, link):
    doc = make_clinician()
    link(history, doc)
    assert client.get(f"/v1/patients/{history.id}/export.fhir",
                      headers=doc.headers).status_code == 200
    assert client.get("/v1/patients/me/export.csv?kind=exercise",
                      headers=history.headers).status_code == 200
    log = client.get("/v1/patients/me/access-log", headers=history.headers).json()["items"]
    exports = {(e["actor_id"], e["resource"], e["outcome"]) for e in log
               if e["action"] == "export"}
    assert exports == {
        (doc.id, "GET /v1/patients/{pid}/export.fhir", "allowed"),
        (history.id, "GET /v1/patients/{pid}/export.csv", "allowed"),
    }
