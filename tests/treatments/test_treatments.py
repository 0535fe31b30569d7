"""Treatments over HTTP: who may record, read, change and delete them; bad input; history;
the changes feed; `latest_treatment`."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.helpers import assert_problem

URL = "/v1/patients/{pid}/treatments"
GAE = {"kind": "genicular_artery_embolisation", "knee": "left", "date": "2026-01-10",
       "notes": "Medial genicular arteries"}


@pytest.fixture()
def team(make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    return p, c, URL.format(pid=p.id)


def test_patient_and_care_team_clinician_record_and_read(client, team):
    p, c, url = team
    r = client.post(url, headers=c.headers, json=GAE)
    assert r.status_code == 201, r.text
    t = r.json()
    assert r.headers["ETag"] == '"1"' and r.headers["Location"].endswith(f"/treatments/{t['id']}")
    assert {k: t[k] for k in GAE} == GAE
    assert t["recorded_by"] == c.id and t["version"] == 1
    r = client.post("/v1/patients/me/treatments", headers=p.headers,
                    json={"kind": "steroid_injection", "knee": "both", "date": "2025-11-02"})
    assert r.status_code == 201, r.text
    assert r.json()["recorded_by"] == p.id and r.json()["notes"] is None
    for who in (p, c):
        got = client.get(f"{url}/{t['id']}", headers=who.headers)
        assert got.status_code == 200 and got.json() == t and got.headers["ETag"] == '"1"'
        items = client.get(url, headers=who.headers).json()["items"]
        assert [i["date"] for i in items] == ["2025-11-02", "2026-01-10"]  # by date
    only = client.get(url, headers=p.headers, params={"kind": "steroid_injection"}).json()
    assert [i["kind"] for i in only["items"]] == ["steroid_injection"]
    dated = client.get(url, headers=p.headers, params={"from": "2026-01-01"}).json()
    assert [i["id"] for i in dated["items"]] == [t["id"]]


def test_strangers_get_404_and_nothing_is_stored(client, team, make_patient, make_clinician):
    p, _c, url = team
    tid = client.post(url, headers=p.headers, json=GAE).json()["id"]
    for stranger in (make_patient(), make_clinician()):
        h = stranger.headers
        assert_problem(client.post(url, headers=h, json=GAE), 404)
        assert_problem(client.get(url, headers=h), 404)
        assert_problem(client.get(f"{url}/{tid}", headers=h), 404)
        assert_problem(client.patch(f"{url}/{tid}", headers=h, json={"notes": "x"}), 404)
        assert_problem(client.delete(f"{url}/{tid}", headers=h), 404)
        assert_problem(client.get(f"{url}/{tid}/revisions", headers=h), 404)
    items = client.get(url, headers=p.headers).json()["items"]
    assert len(items) == 1 and items[0]["notes"] == GAE["notes"] and items[0]["version"] == 1
    assert_problem(client.get(f"{url}/{uuid.uuid4()}", headers=p.headers), 404)


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "acupuncture"}, "kind"),
    ({"knee": "middle"}, "knee"),
    ({"date": "1899-12-31"}, "date"),
    ({"date": "2999-01-01"}, "date"),
    ({"date": "2026-13-01"}, "date"),
    ({"notes": "x" * 2001}, "notes"),
    ({"surgeon": "Dr X"}, "surgeon"),
])
def test_bad_input_is_422_naming_the_field(client, team, change, field):
    p, _c, url = team
    assert_problem(client.post(url, headers=p.headers, json={**GAE, **change}), 422, field)
    assert client.get(url, headers=p.headers).json()["items"] == []


def test_a_treatment_in_the_future_is_refused(client, team):
    p, _c, url = team
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    assert_problem(client.post(url, headers=p.headers, json={**GAE, "date": tomorrow}), 422,
                   "date")
    tid = client.post(url, headers=p.headers, json=GAE).json()["id"]
    assert_problem(client.patch(f"{url}/{tid}", headers=p.headers, json={"date": tomorrow}), 422,
                   "date")
    for field in ("kind", "knee", "date"):
        assert_problem(client.patch(f"{url}/{tid}", headers=p.headers, json={field: None}), 422,
                       field)
    assert client.get(f"{url}/{tid}", headers=p.headers).json()["version"] == 1


def test_patch_and_delete_keep_history_and_honour_if_match(client, team):
    p, c, url = team
    tid = client.post(url, headers=p.headers, json=GAE).json()["id"]
    assert_problem(client.patch(f"{url}/{tid}", headers={**c.headers, "If-Match": '"9"'},
                                json={"knee": "both"}), 412)
    r = client.patch(f"{url}/{tid}", headers={**c.headers, "If-Match": '"1"'},
                     json={"knee": "both", "notes": None})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert (r.json()["knee"], r.json()["notes"], r.json()["version"]) == ("both", None, 2)
    same = client.patch(f"{url}/{tid}", headers=p.headers, json={"knee": "both"})
    assert same.status_code == 200 and same.json()["version"] == 2  # nothing changed
    assert_problem(client.delete(f"{url}/{tid}", headers={**p.headers, "If-Match": '"1"'}), 412)
    assert client.delete(f"{url}/{tid}", headers={**p.headers, "If-Match": '"2"'}).status_code \
        == 204
    assert_problem(client.get(f"{url}/{tid}", headers=p.headers), 404)
    assert_problem(client.patch(f"{url}/{tid}", headers=p.headers, json={"notes": "x"}), 404)
    assert client.get(url, headers=p.headers).json()["items"] == []
    revs = client.get(f"{url}/{tid}/revisions", headers=c.headers).json()["items"]
    assert [(r["version"], r["reason"]) for r in revs] == [(1, "replaced"), (2, "deleted")]
    assert revs[0]["data"]["knee"] == "left" and revs[0]["data"]["notes"] == GAE["notes"]
    assert revs[1]["data"]["knee"] == "both"


def test_changes_feed_has_writes_and_a_tombstone(client, team):
    p, _c, url = team
    tid = client.post(url, headers=p.headers, json=GAE).json()["id"]
    client.patch(f"{url}/{tid}", headers=p.headers, json={"notes": "after"})
    client.delete(f"{url}/{tid}", headers=p.headers)
    items = [i for i in client.get("/v1/patients/me/changes", headers=p.headers).json()["items"]
             if i["kind"] == "treatment"]
    assert [(i["key"], i["op"], i["version"]) for i in items] == [
        (tid, "upsert", 1), (tid, "upsert", 2), (tid, "delete", 3)]
    assert items[1]["data"]["notes"] == "after" and items[2]["data"] is None


def test_latest_treatment(client, team, engine):
    from sqlmodel import Session

    from app.treatments.service import latest_treatment

    p, _c, url = team
    ids = {}
    for kind, knee, date in [("steroid_injection", "left", "2025-06-01"),
                             ("genicular_artery_embolisation", "right", "2026-01-10"),
                             ("hyaluronic_injection", "both", "2025-12-01"),
                             ("prp_injection", "left", "2026-01-20")]:
        ids[kind] = client.post(url, headers=p.headers,
                                json={"kind": kind, "knee": knee, "date": date}).json()["id"]
    client.delete(f"{url}/{ids['prp_injection']}", headers=p.headers)  # deleted: not latest
    pid = uuid.UUID(p.id)
    with Session(engine) as s:
        def kind_of(knee):
            row = latest_treatment(s, pid, knee)
            return row.kind if row else None
        assert kind_of(None) == "genicular_artery_embolisation"
        assert kind_of("right") == "genicular_artery_embolisation"
        assert kind_of("left") == "hyaluronic_injection"  # a "both" counts for each knee
        assert latest_treatment(s, uuid.uuid4(), None) is None


def test_writes_reads_and_refusals_are_in_the_access_log(client, team, make_clinician):
    p, c, url = team
    tid = client.post(url, headers=c.headers, json=GAE).json()["id"]
    client.get(f"{url}/{tid}", headers=c.headers)
    client.delete(f"{url}/{tid}", headers=make_clinician().headers)  # refused: 404
    log = client.get("/v1/patients/me/access-log", headers=p.headers).json()["items"]
    seen = {(e["actor_role"], e["action"], e["resource"], e["outcome"]) for e in log}
    assert ("clinician", "write", "POST /v1/patients/{pid}/treatments", "allowed") in seen
    assert ("clinician", "read", "GET /v1/patients/{pid}/treatments/{treatment_id}",
            "allowed") in seen
    assert ("clinician", "write", "DELETE /v1/patients/{pid}/treatments/{treatment_id}",
            "denied") in seen
