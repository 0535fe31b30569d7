"""POST /v1/patients/{pid}/sync: each item decided and answered on its own, in input order."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.helpers import assert_problem, entry, session_body

SYNC = "/v1/patients/me/sync"


def _statuses(r) -> list[tuple[str, str | None, str]]:
    assert r.status_code == 200, r.text
    return [(x["kind"], x["key"], x["status"]) for x in r.json()["results"]]


def test_create_then_replay_is_unchanged(client, make_patient):
    p = make_patient()
    sid = str(uuid.uuid4())
    body = {
        "symptom_entries": [{"entry_date": "2026-01-05", **entry(4)},
                            {"entry_date": "2026-01-06", **entry(5, notes="stairs")}],
        "exercise_sessions": [{"id": sid, **session_body(started_at="2026-01-05T10:00:00+01:00")}],
    }
    r = client.post(SYNC, headers=p.headers, json=body)
    assert _statuses(r) == [("symptom_entry", "2026-01-05", "created"),
                            ("symptom_entry", "2026-01-06", "created"),
                            ("exercise_session", sid, "created")]
    assert [x["etag"] for x in r.json()["results"]] == ['"1"', '"1"', '"1"']
    got = client.get("/v1/patients/me/symptom-entries/2026-01-06", headers=p.headers).json()
    assert got["knees"]["left"]["pain"] == 5 and got["notes"] == "stairs"
    assert client.get(f"/v1/patients/me/exercise-sessions/{sid}",
                      headers=p.headers).json()["local_date"] == "2026-01-05"
    before = client.get("/v1/patients/me/changes", headers=p.headers).json()
    again = client.post(SYNC, headers=p.headers, json=body)
    assert [s for *_, s in _statuses(again)] == ["unchanged"] * 3
    assert client.get("/v1/patients/me/changes", headers=p.headers).json() == before


def test_updates_conflicts_and_revisions(client, make_patient):
    p = make_patient()
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry(2))
    body = {"symptom_entries": [
        {"entry_date": "2026-01-05", "if_match": '"1"', **entry(6)},
        # Stale: the item before has just made it version 2.
        {"entry_date": "2026-01-05", "if_match": '"1"', **entry(7)},
        {"entry_date": "2026-01-07", "if_match": '"1"', **entry(7)},  # no such entry
    ]}
    r = client.post(SYNC, headers=p.headers, json=body)
    assert _statuses(r) == [("symptom_entry", "2026-01-05", "updated"),
                            ("symptom_entry", "2026-01-05", "conflict"),
                            ("symptom_entry", "2026-01-07", "conflict")]
    assert r.json()["results"][1]["etag"] == '"2"'  # the current one, to refetch
    revs = client.get("/v1/patients/me/symptom-entries/2026-01-05/revisions",
                      headers=p.headers).json()["items"]
    assert [(x["version"], x["reason"], x["data"]["knees"]["left"]["pain"]) for x in revs] == [
        (1, "replaced", 2)]
    # Replaying the same call: the first item's content is current, so it is unchanged (not a
    # conflict with itself); the stale one still conflicts.
    again = client.post(SYNC, headers=p.headers, json=body)
    assert [s for *_, s in _statuses(again)] == ["unchanged", "conflict", "conflict"]


def test_deletions_and_their_replay(client, make_patient):
    p = make_patient()
    sid = str(uuid.uuid4())
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry(2))
    client.put(f"/v1/patients/me/exercise-sessions/{sid}", headers=p.headers, json=session_body())
    body = {"deletions": [
        {"kind": "symptom_entry", "key": "2026-01-05", "if_match": '"1"'},
        {"kind": "exercise_session", "key": sid},
        {"kind": "symptom_entry", "key": "2026-01-09"},  # never existed
    ]}
    r = client.post(SYNC, headers=p.headers, json=body)
    assert _statuses(r) == [("symptom_entry", "2026-01-05", "deleted"),
                            ("exercise_session", sid, "deleted"),
                            ("symptom_entry", "2026-01-09", "unchanged")]
    assert client.get("/v1/patients/me/symptom-entries/2026-01-05",
                      headers=p.headers).status_code == 404
    revs = client.get(f"/v1/patients/me/exercise-sessions/{sid}/revisions",
                      headers=p.headers).json()["items"]
    assert [x["reason"] for x in revs] == ["deleted"]
    again = client.post(SYNC, headers=p.headers, json=body)
    assert [s for *_, s in _statuses(again)] == ["unchanged"] * 3
    # A stale If-Match on a live record is a conflict.
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry(2))
    r = client.post(SYNC, headers=p.headers, json={"deletions": [
        {"kind": "symptom_entry", "key": "2026-01-05", "if_match": '"1"'}]})
    assert _statuses(r) == [("symptom_entry", "2026-01-05", "conflict")]
    # Written again after the delete: a fresh create that keeps counting versions.
    assert client.get("/v1/patients/me/symptom-entries/2026-01-05",
                      headers=p.headers).headers["ETag"] == '"3"'


def test_invalid_items_do_not_spoil_the_others(client, make_patient):
    p = make_patient(tz="UTC")
    now = dt.datetime.now(dt.UTC)
    later = (now + dt.timedelta(days=3)).isoformat()
    body = {
        "symptom_entries": [
            {"entry_date": "2026-02-27", **entry(11)},                # pain out of range
            {"entry_date": "2026-02-28", **entry(3)},                 # fine
            {"entry_date": later[:10], **entry(3)},                   # in the future
            {"entry_date": "2026-02-26", "knees": {}, "colour": "x"},  # no measure, unknown field
            "not an object",
        ],
        "exercise_sessions": [{"id": "nope", **session_body()},
                              {"id": str(uuid.uuid4()), **session_body(started_at=later)}],
        "deletions": [{"kind": "symptom_entry", "key": "yesterday"},
                      {"kind": "plan", "key": "x"}],
    }
    r = client.post(SYNC, headers=p.headers, json=body)
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["invalid", "created", "invalid", "invalid",
                                              "invalid", "invalid", "invalid", "invalid",
                                              "invalid"]
    locs = [[".".join(map(str, e["loc"])) for e in x.get("errors") or []] for x in results]
    assert locs[0] == ["knees.left.pain"]
    assert locs[2] == ["entry_date"]
    assert set(locs[3]) == {"knees", "colour"}
    assert locs[5] == ["id"]
    assert locs[6] == ["started_at"]
    assert locs[7] == ["key"]
    assert locs[8] == ["kind"]
    assert results[0]["key"] == "2026-02-27" and results[4]["key"] is None
    assert client.get("/v1/patients/me/symptom-entries", headers=p.headers).json()["items"][0][
        "entry_date"] == "2026-02-28"


def test_more_than_500_items_is_422(client, make_patient):
    p = make_patient()
    body = {"symptom_entries": [{"entry_date": "2026-01-01", **entry()}] * 300,
            "deletions": [{"kind": "symptom_entry", "key": "2026-01-02"}] * 201}
    assert_problem(client.post(SYNC, headers=p.headers, json=body), 422)
    body["deletions"] = body["deletions"][:200]
    assert client.post(SYNC, headers=p.headers, json=body).status_code == 200


def test_a_clinician_may_not_sync_a_patients_diary(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    r = client.post(f"/v1/patients/{p.id}/sync", headers=c.headers,
                    json={"symptom_entries": [{"entry_date": "2026-01-05", **entry()}]})
    assert_problem(r, 403)


def test_a_500_entry_sync_round_trips(client, make_patient):
    p = make_patient()
    start = dt.date(2024, 1, 1)
    items = [{"entry_date": (start + dt.timedelta(days=i)).isoformat(), **entry(i % 11)}
             for i in range(500)]
    r = client.post(SYNC, headers=p.headers, json={"symptom_entries": items})
    assert [x["status"] for x in r.json()["results"]] == ["created"] * 500
    items[7] = {**items[7], "knees": {"right": {"pain": 1}}}
    r = client.post(SYNC, headers=p.headers, json={"symptom_entries": items})
    assert [x["status"] for x in r.json()["results"]].count("unchanged") == 499
    assert r.json()["results"][7]["status"] == "updated"
    got = client.get(f"/v1/patients/me/symptom-entries/{items[7]['entry_date']}",
                     headers=p.headers).json()
    assert got["knees"] == {"right": {"pain": 1, "stiffness": None, "swelling": None,
                                      "warmth": None, "giving_way": None,
                                      "flexion_degrees": None, "extension_degrees": None,
                                      "rom_method": None, "night_pain": None,
                                      "locking": None}, "left": None}


def test_session_plan_must_be_one_of_the_patients_plans(client, make_patient, make_clinician,
                                                        link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    plan = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
            "start_date": "2026-01-05"}
    r = client.post(f"/v1/patients/{p.id}/exercise-plans", headers=c.headers, json=plan)
    assert r.status_code == 201, r.text
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"exercise_sessions": [{"id": good, **session_body(plan_id=r.json()["id"])},
                                  {"id": bad, **session_body(plan_id=str(uuid.uuid4()))}]}
    res = client.post(SYNC, headers=p.headers, json=body).json()["results"]
    assert [x["status"] for x in res] == ["created", "invalid"]
    assert res[1]["key"] == bad and res[1]["errors"][0]["loc"] == ["plan_id"]
