from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.helpers import assert_problem, session_body

URL = "/v1/patients/me/exercise-sessions"


def test_put_with_client_id_is_idempotent(client, make_patient):
    p = make_patient()
    sid = str(uuid.uuid4())
    body = session_body(started_at="2026-01-05T23:30:00-05:00", distance_m=400.5, steps=900,
                        rpe=3.5, pain_before=4, pain_after=3, setting="indoor", supervised=True,
                        falls=0, near_falls=1, exercises=[{"name": "retro walk", "sets": 3}],
                        notes="with physio")
    r1 = client.put(f"{URL}/{sid}", headers=p.headers, json=body)
    assert r1.status_code == 201, r1.text
    data = r1.json()
    # The local date is the date at the offset the client gave (not the UTC date).
    assert data["local_date"] == "2026-01-05"
    assert data["started_at"] == "2026-01-05T23:30:00-05:00"
    assert data["near_falls"] == 1 and data["rpe"] == 3.5
    r2 = client.put(f"{URL}/{sid}", headers=p.headers, json=body)
    assert r2.status_code == 200 and r2.headers["ETag"] == r1.headers["ETag"]
    items = client.get(URL, headers=p.headers).json()["items"]
    assert [i["id"] for i in items] == [sid]
    r3 = client.put(f"{URL}/{sid}", headers=p.headers, json={**body, "duration_minutes": 20})
    assert r3.status_code == 200 and r3.headers["ETag"] == '"2"'
    revs = client.get(f"{URL}/{sid}/revisions", headers=p.headers).json()["items"]
    assert [(r["version"], r["data"]["duration_minutes"]) for r in revs] == [(1, 15)]


def test_post_assigns_id_and_location(client, make_patient):
    p = make_patient()
    r = client.post(URL, headers=p.headers, json=session_body(activity="cycling"))
    assert r.status_code == 201
    sid = r.json()["id"]
    assert r.headers["Location"].endswith(f"/exercise-sessions/{sid}")
    assert client.get(f"{URL}/{sid}", headers=p.headers).json()["activity"] == "cycling"


def test_list_filters_and_pagination(client, make_patient):
    p = make_patient()
    base = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    for i in range(6):
        act = "backward_walking" if i % 2 == 0 else "strengthening"
        client.post(URL, headers=p.headers, json=session_body(
            activity=act, started_at=(base + dt.timedelta(days=i)).isoformat()))
    r = client.get(URL, headers=p.headers, params={"activity": "backward_walking"})
    assert [i["local_date"] for i in r.json()["items"]] == [
        "2026-01-01", "2026-01-03", "2026-01-05"]
    r = client.get(URL, headers=p.headers, params={"from": "2026-01-02", "to": "2026-01-03"})
    assert len(r.json()["items"]) == 2
    seen, cursor = [], None
    while True:
        page = client.get(URL, headers=p.headers,
                          params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["local_date"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"2026-01-0{i}" for i in range(1, 7)]
    assert_problem(client.get(URL, headers=p.headers, params={"activity": "running"}), 422,
                   "activity")


def test_delete_keeps_history(client, make_patient):
    p = make_patient()
    sid = client.post(URL, headers=p.headers, json=session_body(falls=1)).json()["id"]
    assert_problem(client.delete(f"{URL}/{sid}", headers={**p.headers, "If-Match": '"7"'}), 412)
    assert client.delete(f"{URL}/{sid}", headers=p.headers).status_code == 204
    assert_problem(client.get(f"{URL}/{sid}", headers=p.headers), 404)
    revs = client.get(f"{URL}/{sid}/revisions", headers=p.headers).json()["items"]
    assert revs[-1]["reason"] == "deleted" and revs[-1]["data"]["falls"] == 1
    assert client.get(URL, headers=p.headers).json()["items"] == []


INVALID = [
    ("activity", {"activity": "running"}),
    ("activity", {"activity": None}),
    ("started_at", {"started_at": "2026-01-05T10:00:00"}),
    ("started_at", {"started_at": "2999-01-01T10:00:00+00:00"}),
    ("duration_minutes", {"duration_minutes": 0}),
    ("duration_minutes", {"duration_minutes": 601}),
    ("distance_m", {"distance_m": -1}),
    ("steps", {"steps": -5}),
    ("rpe", {"rpe": 11}),
    ("rpe", {"rpe": -0.5}),
    ("pain_before", {"pain_before": 11}),
    ("pain_after", {"pain_after": -1}),
    ("setting", {"setting": "space"}),
    ("supervised", {"supervised": "yes please"}),
    ("falls", {"falls": -1}),
    ("near_falls", {"near_falls": -1}),
    ("plan_id", {"plan_id": "not-a-uuid"}),
    ("exercises.0.sets", {"exercises": [{"name": "squat", "sets": 0}]}),
    ("exercises.0.name", {"exercises": [{"sets": 3}]}),
    ("notes", {"notes": "n" * 2001}),
    ("mood", {"mood": "great"}),
]


@pytest.mark.parametrize(("field", "over"), INVALID, ids=[f for f, _ in INVALID])
def test_invalid_session_names_the_field_and_writes_nothing(client, make_patient, field, over):
    p = make_patient()
    assert_problem(client.post(URL, headers=p.headers, json=session_body(**over)), 422, field)
    assert client.get(URL, headers=p.headers).json()["items"] == []


def test_required_fields(client, make_patient):
    p = make_patient()
    for missing in ("activity", "started_at", "duration_minutes"):
        body = session_body()
        del body[missing]
        assert_problem(client.post(URL, headers=p.headers, json=body), 422, missing)
