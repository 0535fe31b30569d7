"""Function tests over HTTP: who may record, read and delete them; impossible results;
history; the changes feed; the sparse trend with its MDC."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.helpers import assert_problem

URL = "/v1/patients/{pid}/function-tests"
CHAIR = {"test": "chair_stand_30s", "performed_on": "2026-01-10", "value": 9, "supervised": True}


@pytest.fixture()
def team(make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    return p, c, URL.format(pid=p.id)


def test_record_read_and_list(client, team):
    p, c, url = team
    r = client.post(url, headers=c.headers, json=CHAIR)
    assert r.status_code == 201, r.text
    t = r.json()
    assert {k: t[k] for k in CHAIR} == CHAIR
    assert (t["unit"], t["recorded_by"], t["version"]) == ("stands", c.id, 1)
    assert r.headers["Location"].endswith(f"/function-tests/{t['id']}")
    r = client.post("/v1/patients/me/function-tests", headers=p.headers,
                    json={"test": "tug", "performed_on": "2026-01-03", "value": 11.4})
    assert r.status_code == 201, r.text
    assert (r.json()["unit"], r.json()["supervised"]) == ("seconds", None)
    for who in (p, c):
        assert client.get(f"{url}/{t['id']}", headers=who.headers).json() == t
        items = client.get(url, headers=who.headers).json()["items"]
        assert [i["test"] for i in items] == ["tug", "chair_stand_30s"]  # by date
    only = client.get(url, headers=p.headers, params={"test": "chair_stand_30s"}).json()
    assert [i["id"] for i in only["items"]] == [t["id"]]


def test_strangers_get_404(client, team, make_patient, make_clinician):
    p, _c, url = team
    tid = client.post(url, headers=p.headers, json=CHAIR).json()["id"]
    for stranger in (make_patient(), make_clinician()):
        h = stranger.headers
        assert_problem(client.post(url, headers=h, json=CHAIR), 404)
        assert_problem(client.get(url, headers=h), 404)
        assert_problem(client.get(f"{url}/{tid}", headers=h), 404)
        assert_problem(client.delete(f"{url}/{tid}", headers=h), 404)
    assert len(client.get(url, headers=p.headers).json()["items"]) == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"test": "six_minute_walk"}, "test"),
    ({"value": 61}, "value"),  # a chair-stand count over 60
    ({"value": 9.5}, "value"),  # not a whole number of stands
    ({"value": -1}, "value"),
    ({"test": "tug", "value": -3}, "value"),  # a negative time
    ({"test": "tug", "value": 0}, "value"),
    ({"test": "fast_walk_40m", "value": 601}, "value"),
    ({"test": "stair_climb", "value": "12"}, "value"),
    ({"performed_on": "1899-12-31"}, "performed_on"),
    ({"performed_on": "2999-01-01"}, "performed_on"),
    ({"supervised": "yes"}, "supervised"),
    ({"knee": "left"}, "knee"),
])
def test_impossible_results_are_422_naming_the_field(client, team, change, field):
    p, _c, url = team
    assert_problem(client.post(url, headers=p.headers, json={**CHAIR, **change}), 422, field)
    assert client.get(url, headers=p.headers).json()["items"] == []


def test_a_test_in_the_future_is_refused(client, team):
    p, _c, url = team
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).date().isoformat()
    assert_problem(client.post(url, headers=p.headers, json={**CHAIR, "performed_on": later}),
                   422, "performed_on")


def test_delete_keeps_history_and_a_tombstone(client, team):
    p, c, url = team
    tid = client.post(url, headers=p.headers, json=CHAIR).json()["id"]
    assert_problem(client.delete(f"{url}/{tid}", headers={**c.headers, "If-Match": '"2"'}), 412)
    assert client.delete(f"{url}/{tid}", headers={**c.headers, "If-Match": '"1"'}).status_code \
        == 204
    assert_problem(client.get(f"{url}/{tid}", headers=p.headers), 404)
    assert_problem(client.delete(f"{url}/{tid}", headers=p.headers), 404)
    revs = client.get(f"{url}/{tid}/revisions", headers=p.headers).json()["items"]
    assert [(r["version"], r["reason"], r["data"]["value"]) for r in revs] == [
        (1, "deleted", 9)]
    changes = [i for i in client.get("/v1/patients/me/changes", headers=p.headers).json()["items"]
               if i["kind"] == "function_test"]
    assert [(i["key"], i["op"], i["version"]) for i in changes] == [
        (tid, "upsert", 1), (tid, "delete", 2)]
    assert_problem(client.get(f"{url}/{uuid.uuid4()}/revisions", headers=p.headers), 404)


def test_chair_stand_trend_uses_the_cited_mdc(client, team):
    from app.clinical import THRESHOLDS

    p, _c, url = team
    today = dt.datetime.now(dt.UTC).date()
    for test, days_ago, value in (("chair_stand_30s", 42, 9), ("chair_stand_30s", 0, 13),
                                  ("fast_walk_40m", 42, 31.5), ("fast_walk_40m", 0, 27)):
        d = (today - dt.timedelta(days=days_ago)).isoformat()
        r = client.post(url, headers=p.headers,
                        json={"test": test, "performed_on": d, "value": value})
        assert r.status_code == 201, r.text
    body = client.get("/v1/patients/me/trends/chair_stand_30s", headers=p.headers).json()
    assert body["direction"] == "higher_is_better" and body["unit"] == "stands in 30 s"
    assert [pt["mean"] for pt in body["points"]] == [9, 13]
    assert body["thresholds"]["mdc"] == THRESHOLDS["chair_stand_30s_mdc"].value == 2.5
    assert body["threshold_kind"] == "mdc" and "Gill" in body["thresholds"]["sources"]["mdc"]
    assert body["change"] == 4 and body["status"] == "improved"
    tug = client.get("/v1/patients/me/trends/tug", headers=p.headers).json()
    assert tug["direction"] == "lower_is_better" and tug["thresholds"]["mdc"] == 1.10
    assert tug["points"] == []
    walk = client.get("/v1/patients/me/trends/fast_walk_40m", headers=p.headers).json()
    # No published knee-OA MDC (app/clinical.py NO_THRESHOLD): the change, but no verdict.
    assert walk["thresholds"]["mdc"] is None and walk["change"] == -4.5 and walk["status"] is None
