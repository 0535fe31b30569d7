from __future__ import annotations

import pytest

from tests.helpers import assert_problem, session_body

URL = "/v1/patients/{pid}/exercise-plans"


def plan_body(**extra):
    body = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
            "start_date": "2026-01-05", "end_date": "2026-03-29",
            "instructions": "Slowly, indoors, near a rail."}
    body.update(extra)
    return body


@pytest.fixture()
def team(make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    return p, c, URL.format(pid=p.id)


def test_clinician_prescribes_and_both_read(client, team):
    p, c, url = team
    r = client.post(url, headers=c.headers, json=plan_body())
    assert r.status_code == 201, r.text
    plan = r.json()
    assert r.headers["ETag"] == '"1"' and r.headers["Location"].endswith(f"/{plan['id']}")
    assert plan["clinician_id"] == c.id and plan["version"] == 1
    assert {k: plan[k] for k in plan_body()} == plan_body()
    for who in (p, c):
        got = client.get(f"{url}/{plan['id']}", headers=who.headers)
        assert got.status_code == 200 and got.json() == plan
        assert got.headers["ETag"] == '"1"'
    assert client.get("/v1/patients/me/exercise-plans", headers=p.headers).json()["items"] == [
        plan]


def test_only_a_care_team_clinician_writes(client, team, make_clinician):
    p, c, url = team
    assert_problem(client.post(url, headers=p.headers, json=plan_body()), 403)
    assert_problem(client.post(url, headers=make_clinician().headers, json=plan_body()), 404)
    pid = client.post(url, headers=c.headers, json=plan_body()).json()["id"]
    assert_problem(client.patch(f"{url}/{pid}", headers=p.headers, json={"sessions_per_week": 7}),
                   403)
    assert client.get(f"{url}/{pid}", headers=p.headers).json()["sessions_per_week"] == 3


def test_patch_keeps_history_and_honours_if_match(client, team, make_clinician, link):
    p, c, url = team
    pid = client.post(url, headers=c.headers, json=plan_body()).json()["id"]
    other = make_clinician()
    link(p, other)
    r = client.patch(f"{url}/{pid}", headers={**other.headers, "If-Match": '"1"'},
                     json={"minutes_per_session": 20, "end_date": None})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert (r.json()["minutes_per_session"], r.json()["end_date"]) == (20, None)
    assert r.json()["clinician_id"] == c.id  # the prescriber stays; the revision records who
    assert_problem(client.patch(f"{url}/{pid}", headers={**c.headers, "If-Match": '"1"'},
                                json={"sessions_per_week": 5}), 412)
    # A patch that changes nothing writes nothing.
    same = client.patch(f"{url}/{pid}", headers=c.headers, json={"minutes_per_session": 20})
    assert same.status_code == 200 and same.headers["ETag"] == '"2"'
    r = client.patch(f"{url}/{pid}", headers={**c.headers, "If-Match": 'W/"2"'},
                     json={"instructions": "Add a second set."})
    assert r.headers["ETag"] == '"3"'
    revs = client.get(f"{url}/{pid}/revisions", headers=p.headers).json()["items"]
    assert [(v["version"], v["reason"], v["data"]["minutes_per_session"], v["data"]["end_date"])
            for v in revs] == [(1, "replaced", 15, "2026-03-29"), (2, "replaced", 20, None)]
    assert revs[1]["data"]["instructions"] == "Slowly, indoors, near a rail."


def test_list_active_on_activity_and_pagination(client, team):
    p, c, url = team
    specs = [("2026-01-01", "2026-01-31", "backward_walking"),
             ("2026-02-01", None, "backward_walking"),
             ("2026-01-15", "2026-02-15", "strengthening"),
             ("2026-03-01", "2026-03-01", "cycling"),
             ("2026-01-15", None, "balance")]
    for start, end, act in specs:
        r = client.post(url, headers=c.headers,
                        json=plan_body(start_date=start, end_date=end, activity=act))
        assert r.status_code == 201, r.text

    def starts(**params):
        items = client.get(url, headers=p.headers, params=params).json()["items"]
        return [(i["start_date"], i["activity"]) for i in items]

    # Ties on start_date are ordered by id (random here), so compare those as sets.
    jan31 = starts(active_on="2026-01-31")
    assert jan31[0] == ("2026-01-01", "backward_walking")
    assert set(jan31[1:]) == {("2026-01-15", "balance"), ("2026-01-15", "strengthening")}
    assert [a for _, a in starts(active_on="2026-02-16")] == ["balance", "backward_walking"]
    assert [a for _, a in starts(active_on="2026-03-01")] == [
        "balance", "backward_walking", "cycling"]
    assert starts(active_on="2025-12-31") == []
    assert starts(activity="backward_walking") == [
        ("2026-01-01", "backward_walking"), ("2026-02-01", "backward_walking")]
    seen, cursor = [], None
    while True:
        page = client.get(url, headers=c.headers,
                          params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    everything = client.get(url, headers=c.headers).json()["items"]
    assert seen == [i["id"] for i in everything] and len(set(seen)) == 5
    assert [i["start_date"] for i in everything] == sorted(i["start_date"] for i in everything)
    assert_problem(client.get(url, headers=p.headers, params={"active_on": "soon"}), 422,
                   "active_on")
    assert_problem(client.get(url, headers=p.headers, params={"cursor": "bm9wZQ"}), 422,
                   "cursor")


INVALID = [
    ("activity", {"activity": "running"}),
    ("minutes_per_session", {"minutes_per_session": 0}),
    ("minutes_per_session", {"minutes_per_session": 601}),
    ("sessions_per_week", {"sessions_per_week": 0}),
    ("sessions_per_week", {"sessions_per_week": 22}),
    ("start_date", {"start_date": "2026-02-30"}),
    ("end_date", {"end_date": "2026-01-04"}),
    ("instructions", {"instructions": "x" * 4001}),
    ("frequency", {"frequency": "daily"}),
]


@pytest.mark.parametrize(("field", "over"), INVALID, ids=[f"{f}-{i}" for i, (f, _) in
                                                          enumerate(INVALID)])
def test_invalid_plan_names_the_field_and_writes_nothing(client, team, field, over):
    _, c, url = team
    assert_problem(client.post(url, headers=c.headers, json=plan_body(**over)), 422, field)
    assert client.get(url, headers=c.headers).json()["items"] == []


def test_limits_are_inclusive(client, team):
    _, c, url = team
    r = client.post(url, headers=c.headers, json=plan_body(
        minutes_per_session=600, sessions_per_week=21, end_date="2026-01-05",
        instructions="x" * 4000))
    assert r.status_code == 201, r.text
    r = client.post(url, headers=c.headers, json=plan_body(
        minutes_per_session=1, sessions_per_week=1, end_date=None, instructions=None))
    assert r.status_code == 201, r.text


def test_required_fields(client, team):
    _, c, url = team
    for missing in ("activity", "minutes_per_session", "sessions_per_week", "start_date"):
        body = plan_body()
        del body[missing]
        assert_problem(client.post(url, headers=c.headers, json=body), 422, missing)


@pytest.mark.parametrize(("patch", "field"), [
    ({"activity": None}, "activity"),
    ({"start_date": None}, "start_date"),
    ({"minutes_per_session": 0}, "minutes_per_session"),
    ({"end_date": "2026-01-01"}, "end_date"),
    ({"start_date": "2026-04-01"}, "start_date"),  # after the stored end_date
    ({"colour": "red"}, "colour"),
])
def test_invalid_patch_changes_nothing(client, team, patch, field):
    p, c, url = team
    pid = client.post(url, headers=c.headers, json=plan_body()).json()["id"]
    assert_problem(client.patch(f"{url}/{pid}", headers=c.headers, json=patch), 422, field)
    got = client.get(f"{url}/{pid}", headers=p.headers)
    assert got.headers["ETag"] == '"1"' and got.json()["start_date"] == "2026-01-05"


def test_unknown_plan_is_404(client, team):
    _, c, url = team
    missing = "22222222-2222-4222-8222-222222222222"
    assert_problem(client.get(f"{url}/{missing}", headers=c.headers), 404)
    assert_problem(client.patch(f"{url}/{missing}", headers=c.headers, json={}), 404)
    assert_problem(client.get(f"{url}/{missing}/revisions", headers=c.headers), 404)


def test_session_plan_id_must_name_one_of_the_patients_plans(client, team, make_patient,
                                                            make_clinician, link):
    p, c, url = team
    mine = client.post(url, headers=c.headers, json=plan_body()).json()["id"]
    other, oc = make_patient(), make_clinician()
    link(other, oc)
    theirs = client.post(URL.format(pid=other.id), headers=oc.headers,
                         json=plan_body()).json()["id"]
    sessions = "/v1/patients/me/exercise-sessions"
    r = client.post(sessions, headers=p.headers, json=session_body(plan_id=mine))
    assert r.status_code == 201 and r.json()["plan_id"] == mine
    for bad in (theirs, "33333333-3333-4333-8333-333333333333"):
        assert_problem(client.post(sessions, headers=p.headers, json=session_body(plan_id=bad)),
                       422, "body.plan_id")
        assert_problem(client.put(f"{sessions}/44444444-4444-4444-8444-444444444444",
                                  headers=p.headers, json=session_body(plan_id=bad)),
                       422, "body.plan_id")
    assert len(client.get(sessions, headers=p.headers).json()["items"]) == 1
    assert client.post(sessions, headers=p.headers,
                       json=session_body(plan_id=None)).status_code == 201
