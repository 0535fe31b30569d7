"""The v2 diary fields: Knee.night_pain and Knee.locking, the day's falls in daily life and
its analgesics; through PUT/GET, bad input, revisions, the batch sync and the changes feed;
and the night_pain and analgesic_doses trends."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import assert_problem

ENTRY = "/v1/patients/me/symptom-entries/{d}"
FULL = {"knees": {"left": {"pain": 5, "night_pain": 6, "locking": True},
                  "right": {"locking": False}},
        "falls": 1, "analgesics": {"doses": 4, "kinds": ["paracetamol", "nsaid_oral"]}}


def test_put_and_get_round_trip(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    r = client.put(ENTRY.format(d="2026-01-05"), headers=p.headers, json=FULL)
    assert r.status_code == 201, r.text
    for who in (p, c):
        got = client.get(f"/v1/patients/{p.id}/symptom-entries/2026-01-05",
                         headers=who.headers).json()
        assert got["knees"]["left"]["night_pain"] == 6 and got["knees"]["left"]["locking"] is True
        assert got["knees"]["right"]["locking"] is False  # a knee with only `locking` counts
        assert got["falls"] == 1
        assert got["analgesics"] == {"doses": 4, "kinds": ["paracetamol", "nsaid_oral"]}
    r = client.put(ENTRY.format(d="2026-01-06"), headers=p.headers,
                   json={"knees": {"left": {"pain": 2}}, "analgesics": {"doses": 0}})
    assert r.json()["analgesics"] == {"doses": 0, "kinds": []}
    assert r.json()["falls"] is None and r.json()["knees"]["left"]["night_pain"] is None
    r = client.put(ENTRY.format(d="2026-01-07"), headers=p.headers,
                   json={"knees": {"left": {"pain": 2}}})
    assert r.json()["analgesics"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"knees": {"left": {"night_pain": 11}}}, "night_pain"),
    ({"knees": {"left": {"night_pain": -1}}}, "night_pain"),
    ({"knees": {"left": {"locking": "yes"}}}, "locking"),
    ({"knees": {"left": {"pain": 1}}, "falls": 21}, "falls"),
    ({"knees": {"left": {"pain": 1}}, "falls": -1}, "falls"),
    ({"knees": {"left": {"pain": 1}}, "analgesics": {"doses": 21}}, "doses"),
    ({"knees": {"left": {"pain": 1}}, "analgesics": {"kinds": ["paracetamol"]}}, "doses"),
    ({"knees": {"left": {"pain": 1}}, "analgesics": {"doses": 1, "kinds": ["aspirin"]}}, "kinds.0"),
    ({"knees": {"left": {"pain": 1}}, "analgesics": {"doses": 1, "kinds": ["opioid", "opioid"]}},
     "kinds"),
    ({"knees": {"left": {"pain": 1}}, "analgesics": {"doses": 1, "brand": "x"}}, "brand"),
])
def test_bad_values_are_422_naming_the_field(client, make_patient, body, field):
    p = make_patient()
    assert_problem(client.put(ENTRY.format(d="2026-01-05"), headers=p.headers, json=body), 422,
                   field)
    assert_problem(client.get(ENTRY.format(d="2026-01-05"), headers=p.headers), 404)


def test_replace_keeps_the_earlier_values_as_a_revision(client, make_patient):
    p = make_patient()
    url = ENTRY.format(d="2026-01-05")
    client.put(url, headers=p.headers, json=FULL)
    client.put(url, headers=p.headers, json={"knees": {"left": {"pain": 3}}, "falls": 0})
    [rev] = client.get(f"{url}/revisions", headers=p.headers).json()["items"]
    assert rev["data"]["falls"] == 1 and rev["data"]["analgesics"]["doses"] == 4
    assert rev["data"]["knees"]["left"]["night_pain"] == 6


def test_sync_carries_the_new_fields_and_replays_unchanged(client, make_patient):
    p = make_patient()
    body = {"symptom_entries": [{"entry_date": "2026-01-05", **FULL},
                                {"entry_date": "2026-01-06", "knees": {"left": {"pain": 1}},
                                 "analgesics": {"doses": 1, "kinds": ["tramadol"]}}]}
    r = client.post("/v1/patients/me/sync", headers=p.headers, json=body)
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["created", "invalid"]
    assert any(e["loc"][-1] == 0 and "kinds" in e["loc"] for e in results[1]["errors"])
    again = client.post("/v1/patients/me/sync", headers=p.headers, json=body).json()["results"]
    assert again[0]["status"] == "unchanged"
    got = client.get(ENTRY.format(d="2026-01-05"), headers=p.headers).json()
    assert got["analgesics"]["kinds"] == ["paracetamol", "nsaid_oral"] and got["falls"] == 1
    changes = client.get("/v1/patients/me/changes", headers=p.headers).json()["items"]
    [change] = [c for c in changes if c["kind"] == "symptom_entry"]
    assert change["data"]["analgesics"] == FULL["analgesics"]
    assert change["data"]["knees"]["left"]["locking"] is True


def test_night_pain_and_analgesic_trends(client, make_patient):
    p = make_patient(index_knee="left")
    today = dt.datetime.now(dt.UTC).date()
    for i in range(10):
        d = (today - dt.timedelta(days=9 - i)).isoformat()
        body = {"knees": {"left": {"pain": 5, "night_pain": 8 - i // 2}},
                "analgesics": {"doses": 4 if i < 5 else 1, "kinds": ["paracetamol"]}}
        assert client.put(ENTRY.format(d=d), headers=p.headers, json=body).status_code == 201
    night = client.get("/v1/patients/me/trends/night_pain?knee=left", headers=p.headers).json()
    assert night["direction"] == "lower_is_better" and night["unit"] == "NRS 0-10"
    assert [pt["mean"] for pt in night["points"]] == [8 - i // 2 for i in range(10)]
    th = night["thresholds"]
    assert th["mcid"] is None and th["mdc"] is None  # none published: no verdict
    assert night["threshold_kind"] is None
    doses = client.get("/v1/patients/me/trends/analgesic_doses", headers=p.headers).json()
    assert doses["knee"] is None and doses["direction"] == "lower_is_better"
    assert [pt["mean"] for pt in doses["points"]] == [4] * 5 + [1] * 5
    overview = client.get("/v1/patients/me/trends", headers=p.headers).json()["metrics"]
    assert overview["analgesic_doses"]["last_value"] == 1
    assert overview["night_pain"]["last_value"] == 4
