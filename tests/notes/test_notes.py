from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem

URL = "/v1/patients/{pid}/notes"


@pytest.fixture()
def team(make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    return p, c, URL.format(pid=p.id)


def test_clinician_writes_and_patient_and_team_read(client, team):
    p, c, url = team
    body = {"text": "Pain settling; continue the plan.", "topic": "review",
            "entry_date": "2026-01-05"}
    r = client.post(url, headers=c.headers, json=body)
    assert r.status_code == 201, r.text
    note = r.json()
    assert r.headers["Location"].endswith(f"/notes/{note['id']}")
    assert note["clinician_id"] == c.id and note["amends"] is None
    assert {k: note[k] for k in body} == body
    for who in (p, c):
        assert client.get(f"{url}/{note['id']}", headers=who.headers).json() == note
    assert client.get(URL.format(pid="me"), headers=p.headers).json() == {
        "items": [note], "next_cursor": None}


def test_only_a_care_team_clinician_writes(client, team, make_clinician, make_patient):
    p, _c, url = team
    assert_problem(client.post(url, headers=p.headers, json={"text": "mine"}), 403)
    outsider = make_clinician()
    assert_problem(client.post(url, headers=outsider.headers, json={"text": "x"}), 404)
    assert_problem(client.get(url, headers=outsider.headers), 404)
    assert_problem(client.get(url, headers=make_patient().headers), 404)
    assert client.get(url, headers=p.headers).json()["items"] == []


def test_revoked_clinician_neither_reads_nor_writes(client, team):
    p, c, url = team
    nid = client.post(url, headers=c.headers, json={"text": "first"}).json()["id"]
    assert client.delete(f"/v1/patients/me/care-team/{c.id}", headers=p.headers).status_code == 204
    assert_problem(client.get(f"{url}/{nid}", headers=c.headers), 404)
    assert_problem(client.post(url, headers=c.headers, json={"text": "again"}), 404)
    assert client.get(f"{url}/{nid}", headers=p.headers).status_code == 200


def test_validation(client, team):
    _p, c, url = team
    assert_problem(client.post(url, headers=c.headers, json={"text": "x" * 4001}), 422, "text")
    assert_problem(client.post(url, headers=c.headers, json={"text": ""}), 422, "text")
    assert_problem(client.post(url, headers=c.headers, json={"text": "a", "advice": 1}), 422,
                   "advice")
    assert_problem(client.post(url, headers=c.headers,
                               json={"text": "a", "entry_date": "2999-01-01"}), 422, "entry_date")
    assert_problem(client.post(url, headers=c.headers,
                               json={"text": "a", "amends": str(uuid.uuid4())}), 422, "amends")
    assert client.post(url, headers=c.headers, json={"text": "x" * 4000}).status_code == 201


def test_notes_are_immutable_and_amended_by_a_new_note(client, team, app):
    _p, c, url = team
    first = client.post(url, headers=c.headers, json={"text": "Left knee"}).json()
    r = client.post(url, headers=c.headers, json={"text": "Right knee, not left",
                                                  "amends": first["id"]})
    assert r.status_code == 201 and r.json()["amends"] == first["id"]
    from app.main import iter_api_routes

    methods = {m for rt in iter_api_routes(app.routes)
               if rt.path.startswith("/v1/patients/{pid}/notes") for m in rt.methods}
    assert "POST" in methods
    assert methods <= {"GET", "POST", "HEAD"}


def test_list_pages_and_filters_by_topic(client, team):
    p, c, url = team
    ids = [client.post(url, headers=c.headers, json={"text": f"n{i}", "topic": t}).json()["id"]
           for i, t in enumerate(["review", "imaging", "review"])]
    page = client.get(url, headers=p.headers, params={"limit": 2}).json()
    assert [n["id"] for n in page["items"]] == ids[:2] and page["next_cursor"]
    rest = client.get(url, headers=p.headers,
                      params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [n["id"] for n in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    reviews = client.get(url, headers=c.headers, params={"topic": "review"}).json()["items"]
    assert [n["id"] for n in reviews] == [ids[0], ids[2]]


def test_idempotent_post_and_changes_feed(client, team):
    p, c, url = team
    h = {**c.headers, "Idempotency-Key": str(uuid.uuid4())}
    a = client.post(url, headers=h, json={"text": "once"})
    b = client.post(url, headers=h, json={"text": "once"})
    assert (a.status_code, a.json()) == (b.status_code, b.json())
    assert len(client.get(url, headers=p.headers).json()["items"]) == 1
    assert_problem(client.post(url, headers=h, json={"text": "other"}), 422)
    changes = client.get(f"/v1/patients/{p.id}/changes", headers=p.headers).json()["items"]
    assert [(ch["kind"], ch["key"], ch["data"]) for ch in changes] == [
        ("clinical_note", a.json()["id"], a.json())]


def test_reads_and_writes_are_in_the_access_log(client, team):
    p, c, url = team
    client.post(url, headers=c.headers, json={"text": "logged"})
    client.get(url, headers=c.headers)
    log = client.get("/v1/patients/me/access-log", headers=p.headers).json()["items"]
    mine = [(i["actor_id"], i["action"], i["outcome"]) for i in log if i["actor_id"] == c.id]
    assert (c.id, "write", "allowed") in mine and (c.id, "read", "allowed") in mine
