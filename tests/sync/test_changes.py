"""GET /v1/patients/{pid}/changes: every write, in commit order, once, with a stable cursor."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import httpx

from tests.helpers import assert_problem, entry, session_body

FEED = "/v1/patients/me/changes"


def _walk(get, cursor=None, limit=50):
    items = []
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = get(FEED, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor


def test_every_write_path_appears_in_order(client, make_patient, make_clinician, link):
    p = make_patient()
    h = p.headers
    get = lambda url, **kw: client.get(url, headers=h, **kw)  # noqa: E731
    sid = str(uuid.uuid4())
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h, json=entry(2))
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h, json=entry(2))  # same
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h, json=entry(4))
    client.put(f"/v1/patients/me/exercise-sessions/{sid}", headers=h, json=session_body())
    posted = client.post("/v1/patients/me/exercise-sessions", headers=h, json=session_body())
    client.delete("/v1/patients/me/symptom-entries/2026-01-05", headers=h)
    client.delete(f"/v1/patients/me/exercise-sessions/{sid}", headers=h)
    client.post("/v1/patients/me/sync", headers=h, json={
        "symptom_entries": [{"entry_date": "2026-01-05", **entry(1)}],
        "deletions": [{"kind": "exercise_session", "key": posted.json()["id"]}]})
    items, cursor = _walk(get, limit=3)
    assert [(i["kind"], i["op"], i["version"]) for i in items] == [
        ("symptom_entry", "upsert", 1),
        ("symptom_entry", "upsert", 2),
        ("exercise_session", "upsert", 1),
        ("exercise_session", "upsert", 1),
        ("symptom_entry", "delete", 3),
        ("exercise_session", "delete", 2),
        ("symptom_entry", "upsert", 4),
        ("exercise_session", "delete", 2),
    ]
    assert items[1]["data"]["knees"]["left"]["pain"] == 4 and items[1]["etag"] == '"2"'
    assert items[1]["data"]["etag"] == '"2"'
    assert items[4]["data"] is None and items[4]["key"] == "2026-01-05"
    assert items[3]["key"] == posted.json()["id"]
    # The data is what GET showed at that version.
    assert items[6]["data"] == client.get("/v1/patients/me/symptom-entries/2026-01-05",
                                          headers=h).json()
    # Nothing new: an empty page and the same cursor, to ask again later.
    r = get(FEED, params={"cursor": cursor}).json()
    assert r == {"items": [], "next_cursor": cursor, "has_more": False}
    client.put("/v1/patients/me/symptom-entries/2026-01-06", headers=h, json=entry(2))
    r = get(FEED, params={"cursor": cursor}).json()
    assert [(i["key"], i["version"]) for i in r["items"]] == [("2026-01-06", 1)]
    # A clinician on the care team reads the same feed.
    c = make_clinician()
    link(p, c)
    assert client.get(f"/v1/patients/{p.id}/changes", headers=c.headers).json()["items"][0] == (
        items[0])


def test_feeds_are_per_patient_and_cursors_are_checked(client, make_patient):
    a, b = make_patient(), make_patient()
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=a.headers, json=entry())
    assert client.get(FEED, headers=b.headers).json()["items"] == []
    for bad in ("!!", "eyJ4IjoxfQ", "eyJzIjoiYSJ9"):
        assert_problem(client.get(FEED, headers=a.headers, params={"cursor": bad}), 422, "cursor")


def test_walking_the_feed_while_others_write_sees_every_change_once(live_server, make_patient):
    """Two writers (a single-record client and a batch client) write while a reader walks the
    feed in small pages: the reader sees each change exactly once, each writer's changes in the
    order it made them, and ends with everything."""
    p = make_patient()
    h = p.headers
    expected: dict[str, list[tuple[str, int]]] = {"single": [], "batch": []}
    errors: list[str] = []
    today = dt.date.today()

    def single_writer() -> None:
        with httpx.Client(base_url=live_server, headers=h, timeout=60) as c:
            for i in range(24):
                day = (today - dt.timedelta(days=1 + i % 6)).isoformat()
                url = f"/v1/patients/me/symptom-entries/{day}"
                if i % 5 == 4:
                    r = c.delete(url)
                    if r.status_code == 204:
                        prev = [v for k, v in expected["single"] if k == day][-1]
                        expected["single"].append((day, prev + 1))
                    continue
                r = c.put(url, json=entry(i % 11))
                if r.status_code not in (200, 201):
                    errors.append(r.text)
                    continue
                version = int(r.headers["ETag"].strip('"'))
                if (day, version) not in expected["single"]:
                    expected["single"].append((day, version))

    def batch_writer() -> None:
        with httpx.Client(base_url=live_server, headers=h, timeout=60) as c:
            ids = [str(uuid.uuid4()) for _ in range(4)]
            for i in range(8):
                body = {"exercise_sessions": [{"id": s, **session_body(duration_minutes=10 + i)}
                                              for s in ids]}
                r = c.post("/v1/patients/me/sync", json=body)
                if r.status_code != 200:
                    errors.append(r.text)
                    continue
                for res in r.json()["results"]:
                    expected["batch"].append((res["key"], int(res["etag"].strip('"'))))

    writers = [threading.Thread(target=single_writer), threading.Thread(target=batch_writer)]
    for t in writers:
        t.start()
    seen = []
    cursor = None
    with httpx.Client(base_url=live_server, headers=h, timeout=60) as reader:
        while True:
            finished = not any(t.is_alive() for t in writers)
            params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
            page = reader.get(FEED, params=params).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if finished and not page["has_more"]:
                break
    for t in writers:
        t.join()
    assert errors == []
    keys = [(i["key"], i["version"]) for i in seen]
    assert len(keys) == len(set(keys)), "a change was seen twice"
    for name, made in expected.items():
        mine = [k for k in keys if k in set(made)]
        assert mine == made, f"{name}: changes missing or out of order"
    assert len(keys) == len(expected["single"]) + len(expected["batch"])


def test_entry_json_equals_the_api_representation():
    from types import SimpleNamespace

    from app.diary.entries import entry_json, entry_out
    from app.diary.vocabulary import KNEE_FIELDS

    t1 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    t2 = dt.datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=dt.UTC)  # stored instants are UTC
    blank = {f"{s}_{c}": None for s in ("left", "right") for c in KNEE_FIELDS.values()}
    rows = [
        {**blank, "left_pain": 3},
        {**blank, "right_flexion": 120, "right_rom_method": "goniometer", "right_warmth": False,
         "morning_stiffness_minutes": 20, "flare": True, "notes": "ünïcode \"q\""},
        {**blank, "left_night_pain": 6, "left_locking": True, "falls": 1,
         "analgesic_doses": 3, "analgesic_kinds": ["paracetamol", "nsaid_topical"]},
        {**blank, "right_locking": False, "analgesic_doses": 0, "analgesic_kinds": []},
    ]
    for cols in rows:
        for at in (t1, t2):
            row = SimpleNamespace(entry_date=dt.date(2026, 1, 2), version=3, recorded_at=at,
                                  created_at=t1, updated_at=at, morning_stiffness_minutes=None,
                                  flare=None, notes=None, falls=None, analgesic_doses=None,
                                  analgesic_kinds=None)
            vars(row).update(cols)
            assert entry_json(row) == entry_out(row).model_dump(mode="json")


def test_plans_and_questionnaires_join_the_feed(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    plan = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
            "start_date": "2026-01-05"}
    r = client.post(f"/v1/patients/{p.id}/exercise-plans", headers=c.headers, json=plan)
    plan_id = r.json()["id"]
    client.patch(f"/v1/patients/{p.id}/exercise-plans/{plan_id}", headers=c.headers,
                 json={"sessions_per_week": 4})
    q = client.post("/v1/patients/me/questionnaires", headers=p.headers, json={
        "instrument": "koos", "completed_on": "2026-01-05", "answers": {"Q1": 1, "Q2": 2}})
    assert q.status_code == 201, q.text
    items = client.get(FEED, headers=p.headers).json()["items"]
    assert [(i["kind"], i["key"], i["version"]) for i in items] == [
        ("exercise_plan", plan_id, 1), ("exercise_plan", plan_id, 2),
        ("questionnaire", q.json()["id"], 1)]
    assert items[1]["data"]["sessions_per_week"] == 4
    assert items[2]["data"] == q.json()
