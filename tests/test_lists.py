"""SPEC §3 "Lists": every list takes `limit` (1–200, default 50) and an opaque `cursor`, and
answers `{items, next_cursor}`."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem

LISTS = [
    "/v1/patients/{pid}/access-log",
    "/v1/admin/audit-events",
    "/v1/patients/{pid}/changes",
    "/v1/patients/{pid}/exercise-plans",
    "/v1/patients/{pid}/questionnaires",
    "/v1/patients/{pid}/exercise-sessions",
    "/v1/patients/{pid}/symptom-entries",
    "/v1/patients/{pid}/notes",
    "/v1/patients/{pid}/care-team",
    "/v1/api-keys",
    "/v1/clinicians/me/patients",
]


def _schema(doc, ref):
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("path", LISTS)
def test_every_list_takes_limit_and_cursor_and_answers_a_page(client, path):
    doc = client.get("/openapi.json").json()
    op = doc["paths"][path]["get"]
    params = {p["name"]: p for p in op.get("parameters", [])}
    assert "cursor" in params, path
    limit = params["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 200, 50), path
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert {"items", "next_cursor"} <= set(_schema(doc, ref)["properties"]), path


def test_care_team_and_api_keys_page(client, make_patient, make_clinician, link):
    p = make_patient()
    for _ in range(3):
        link(p, make_clinician())
    for i in range(3):
        assert client.post("/v1/api-keys", headers=p.headers,
                           json={"name": f"k{i}", "scopes": ["read"]}).status_code == 201
    for url in ("/v1/patients/me/care-team", "/v1/api-keys"):
        whole = client.get(url, headers=p.headers).json()
        assert len(whole["items"]) == 3 and whole["next_cursor"] is None
        first = client.get(url, headers=p.headers, params={"limit": 2}).json()
        rest = client.get(url, headers=p.headers,
                          params={"limit": 2, "cursor": first["next_cursor"]}).json()
        assert first["items"] + rest["items"] == whole["items"], url
        assert rest["next_cursor"] is None
        assert_problem(client.get(url, headers=p.headers, params={"limit": 201}), 422, "limit")
        assert_problem(client.get(url, headers=p.headers, params={"cursor": "e30"}), 422,
                       "cursor")
