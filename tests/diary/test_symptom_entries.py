from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import assert_problem, entry

URL = "/v1/patients/me/symptom-entries"
FULL = {
    "knees": {
        "left": {"pain": 6, "stiffness": 5, "swelling": 2, "warmth": True, "giving_way": False,
                 "flexion_degrees": 110, "extension_degrees": -5, "rom_method": "goniometer"},
        "right": {"pain": 0, "stiffness": 1, "swelling": 0},
    },
    "morning_stiffness_minutes": 45, "flare": True, "notes": "stairs hurt",
    "recorded_at": "2026-01-05T21:30:00+02:00",
}


def test_put_creates_then_replaces_then_unchanged(client, make_patient):
    p = make_patient()
    r = client.put(f"{URL}/2026-01-05", headers=p.headers, json=FULL)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["knees"]["left"]["flexion_degrees"] == 110
    assert body["knees"]["left"]["extension_degrees"] == -5
    assert body["recorded_at"] == "2026-01-05T19:30:00Z"  # stored and shown as UTC
    assert r.headers["ETag"] == body["etag"] == '"1"'
    r2 = client.put(f"{URL}/2026-01-05", headers=p.headers, json={**FULL, "flare": False})
    assert r2.status_code == 200
    assert r2.headers["ETag"] == '"2"'
    r3 = client.put(f"{URL}/2026-01-05", headers=p.headers, json={**FULL, "flare": False})
    assert r3.status_code == 200 and r3.headers["ETag"] == '"2"'  # same content: no new version
    got = client.get(f"{URL}/2026-01-05", headers=p.headers)
    assert got.status_code == 200 and got.json()["flare"] is False
    assert got.headers["ETag"] == '"2"'
    assert client.get(f"{URL}/2026-01-05", headers={**p.headers, "If-None-Match": '"2"'}
                      ).status_code == 304


def test_recorded_at_defaults_to_receipt_time(client, make_patient, pinned_now):
    p = make_patient()
    instant = dt.datetime(2026, 1, 6, 8, 0, tzinfo=dt.UTC)
    pinned_now(instant)
    r = client.put(f"{URL}/2026-01-05", headers=p.headers, json=entry())
    assert r.json()["recorded_at"] == "2026-01-06T08:00:00Z"


def test_if_match_and_if_none_match(client, make_patient):
    p = make_patient()
    h = p.headers
    # If-Match on a missing entry fails; If-None-Match: * creates.
    assert_problem(client.put(f"{URL}/2026-01-05", headers={**h, "If-Match": '"1"'},
                              json=entry()), 412)
    r = client.put(f"{URL}/2026-01-05", headers={**h, "If-None-Match": "*"}, json=entry())
    assert r.status_code == 201
    assert_problem(client.put(f"{URL}/2026-01-05", headers={**h, "If-None-Match": "*"},
                              json=entry(7)), 412)
    assert_problem(client.put(f"{URL}/2026-01-05", headers={**h, "If-Match": '"9"'},
                              json=entry(7)), 412)
    r = client.put(f"{URL}/2026-01-05", headers={**h, "If-Match": '"1"'}, json=entry(7))
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    # A stale ETag on delete fails and deletes nothing.
    assert_problem(client.delete(f"{URL}/2026-01-05", headers={**h, "If-Match": '"1"'}), 412)
    assert client.get(f"{URL}/2026-01-05", headers=h).json()["knees"]["left"]["pain"] == 7
    assert client.delete(f"{URL}/2026-01-05", headers={**h, "If-Match": 'W/"2"'}
                         ).status_code == 204


def test_revisions_after_replace_and_delete(client, make_patient):
    p = make_patient()
    h = p.headers
    assert_problem(client.get(f"{URL}/2026-01-05/revisions", headers=h), 404)
    client.put(f"{URL}/2026-01-05", headers=h, json=entry(3, notes="first"))
    client.put(f"{URL}/2026-01-05", headers=h, json=entry(5, notes="second"))
    assert client.delete(f"{URL}/2026-01-05", headers=h).status_code == 204
    assert_problem(client.get(f"{URL}/2026-01-05", headers=h), 404)
    assert_problem(client.delete(f"{URL}/2026-01-05", headers=h), 404)
    revs = client.get(f"{URL}/2026-01-05/revisions", headers=h).json()["items"]
    assert [(r["version"], r["reason"], r["data"]["notes"]) for r in revs] == [
        (1, "replaced", "first"), (2, "deleted", "second")]
    assert revs[1]["data"]["knees"]["left"]["pain"] == 5
    # Writing again after a delete creates (201) and keeps counting versions.
    r = client.put(f"{URL}/2026-01-05", headers=h, json=entry(1, notes="third"))
    assert r.status_code == 201 and r.headers["ETag"] == '"4"'
    assert len(client.get(f"{URL}/2026-01-05/revisions", headers=h).json()["items"]) == 2


def test_list_is_ascending_and_paginated(client, make_patient):
    p = make_patient()
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(7)]
    for d in reversed(days):
        assert client.put(f"{URL}/{d}", headers=p.headers, json=entry()).status_code == 201
    client.delete(f"{URL}/{days[3]}", headers=p.headers)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, headers=p.headers, params=params).json()
        seen += [i["entry_date"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [str(d) for d in days if d != days[3]]
    r = client.get(URL, headers=p.headers, params={"from": "2026-01-03", "to": "2026-01-05"})
    assert [i["entry_date"] for i in r.json()["items"]] == ["2026-01-03", "2026-01-05"]
    assert_problem(client.get(URL, headers=p.headers, params={"cursor": "!!garbage"}), 422,
                   "cursor")
    assert_problem(client.get(URL, headers=p.headers, params={"limit": 0}), 422, "limit")
    assert_problem(client.get(URL, headers=p.headers, params={"limit": 201}), 422, "limit")
    assert_problem(client.get(URL, headers=p.headers,
                              params={"from": "2026-02-01", "to": "2026-01-01"}), 422, "from")


INVALID = [
    ("knees.left.pain", {"knees": {"left": {"pain": 11}}}),
    ("knees.left.pain", {"knees": {"left": {"pain": -1}}}),
    ("knees.left.pain", {"knees": {"left": {"pain": 2.5}}}),
    ("knees.left.pain", {"knees": {"left": {"pain": "high"}}}),
    ("knees.right.stiffness", {"knees": {"right": {"stiffness": 11}}}),
    ("knees.left.swelling", {"knees": {"left": {"swelling": 4}}}),
    ("knees.left.warmth", {"knees": {"left": {"pain": 1, "warmth": "hot"}}}),
    ("knees.left.giving_way", {"knees": {"left": {"pain": 1, "giving_way": "often"}}}),
    ("knees.left.flexion_degrees", {"knees": {"left": {"flexion_degrees": 171}}}),
    ("knees.left.flexion_degrees", {"knees": {"left": {"flexion_degrees": -1}}}),
    ("knees.left.extension_degrees", {"knees": {"left": {"extension_degrees": 61}}}),
    ("knees.left.extension_degrees", {"knees": {"left": {"extension_degrees": -21}}}),
    ("knees.left.rom_method", {"knees": {"left": {"pain": 1, "rom_method": "guess"}}}),
    ("knees.middle", {"knees": {"left": {"pain": 1}, "middle": {"pain": 1}}}),
    ("knees.left.colour", {"knees": {"left": {"pain": 1, "colour": "red"}}}),
    ("morning_stiffness_minutes", {**entry(), "morning_stiffness_minutes": 1441}),
    ("morning_stiffness_minutes", {**entry(), "morning_stiffness_minutes": -1}),
    ("flare", {**entry(), "flare": "maybe"}),
    ("notes", {**entry(), "notes": "x" * 2001}),
    ("recorded_at", {**entry(), "recorded_at": "2026-01-05T10:00:00"}),  # no offset
    ("recorded_at", {**entry(), "recorded_at": "yesterday"}),
    ("knees", {"knees": {}}),
    ("knees", {"knees": {"left": {}}}),
    ("knees", {"knees": {"left": {"rom_method": "goniometer"}}}),
    ("knees", {}),
    ("mood", {**entry(), "mood": "fine"}),
]


@pytest.mark.parametrize(("field", "body"), INVALID, ids=[f for f, _ in INVALID])
def test_invalid_input_names_the_field_and_writes_nothing(client, make_patient, field, body):
    p = make_patient()
    assert_problem(client.put(f"{URL}/2026-01-05", headers=p.headers, json=body), 422, field)
    assert_problem(client.get(f"{URL}/2026-01-05", headers=p.headers), 404)
    assert client.get(URL, headers=p.headers).json()["items"] == []


def test_bad_dates_and_bodies(client, make_patient):
    p = make_patient()
    assert_problem(client.put(f"{URL}/2026-02-30", headers=p.headers, json=entry()), 422,
                   "entry_date")
    assert_problem(client.put(f"{URL}/yesterday", headers=p.headers, json=entry()), 422,
                   "entry_date")
    r = client.put(f"{URL}/2026-01-05", headers={**p.headers, "content-type": "application/json"},
                   content=b"{not json")
    assert_problem(r, 422)
    r = client.put(f"{URL}/2026-01-05", headers=p.headers, json=[1, 2])
    assert_problem(r, 422)


@pytest.mark.parametrize(
    ("tz", "now", "entry_date", "allowed"),
    [
        # 2026-03-01 05:00 UTC is already 19:00 on 2026-03-01 at UTC+14 ...
        ("Pacific/Kiritimati", "2026-03-01T05:00:00+00:00", "2026-03-01", True),
        ("Pacific/Kiritimati", "2026-03-01T05:00:00+00:00", "2026-03-02", False),
        # SPEC v2: the limit is today at UTC+14 whatever the profile's zone (a travelling
        # phone's "today"): late on 2026-02-28 in Honolulu, 2026-03-01 is accepted ...
        ("Pacific/Honolulu", "2026-03-01T05:00:00+00:00", "2026-03-01", True),
        ("Pacific/Honolulu", "2026-03-01T05:00:00+00:00", "2026-02-28", True),
        # ... but 2026-03-02 is not yet a date anywhere on Earth (it is 19:00 at UTC+14).
        ("Pacific/Honolulu", "2026-03-01T05:00:00+00:00", "2026-03-02", False),
        ("Europe/London", "2026-03-01T09:59:59+00:00", "2026-03-02", False),
        ("Europe/London", "2026-03-01T10:00:00+00:00", "2026-03-02", True),  # 00:00 at UTC+14
        ("America/New_York", "2026-03-08T03:30:00+00:00", "2026-03-08", True),
    ],
)
def test_entry_date_may_not_be_after_local_today(client, make_patient, pinned_now, tz, now,
                                                 entry_date, allowed):
    p = make_patient(tz=tz)
    pinned_now(dt.datetime.fromisoformat(now))
    r = client.put(f"{URL}/{entry_date}", headers=p.headers, json=entry())
    if allowed:
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 422, "entry_date")
        assert_problem(client.get(f"{URL}/{entry_date}", headers=p.headers), 404)
