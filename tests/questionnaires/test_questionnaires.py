from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import assert_problem

URL = "/v1/patients/me/questionnaires"
JR_ITEMS = ("stiffness", "pain_twisting", "pain_straightening", "pain_stairs", "pain_standing",
            "difficulty_rising", "difficulty_bending")


def jr(completed_on="2026-01-05", **answers):
    return {"instrument": "koos_jr", "completed_on": completed_on,
            "answers": {**dict.fromkeys(JR_ITEMS, 1), **answers}}


def koos(completed_on="2026-01-05", **answers):
    return {"instrument": "koos", "completed_on": completed_on, "answers": answers}


def test_koos_jr_is_scored_and_read_back(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    r = client.post(URL, headers=p.headers, json=jr(stiffness=4, pain_stairs=3))
    assert r.status_code == 201, r.text
    q = r.json()
    # raw = 4 + 3 + 5 × 1 = 12 -> 57.140 in the HSS chart
    assert (q["raw_score"], q["score"], q["subscales"], q["subscale_items"]) == (
        12, 57.14, None, None)
    assert r.headers["Location"].endswith(f"/questionnaires/{q['id']}")
    for who in (p, c):
        got = client.get(f"/v1/patients/{p.id}/questionnaires/{q['id']}", headers=who.headers)
        assert got.status_code == 200 and got.json() == q


def test_koos_subscales_with_the_half_rule(client, make_patient):
    p = make_patient()
    answers = {**{f"P{i}": 1 for i in range(1, 10)},  # pain: all 9 -> 75
               "S1": 0, "S2": 2, "S3": 2,  # symptoms: 3 of 7 -> null
               **{f"A{i}": 2 for i in range(1, 10)},  # ADL: 9 of 17 -> 50
               "SP1": 4, "SP2": 4, "SP3": 3,  # sport/rec: 3 of 5 -> mean 11/3
               "Q1": 3}  # QoL: 1 of 4 -> null
    r = client.post(URL, headers=p.headers, json=koos(**answers))
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["score"] is None and q["raw_score"] is None
    assert q["subscales"]["pain"] == 75 and q["subscales"]["adl"] == 50
    assert q["subscales"]["sport_rec"] == pytest.approx(100 - 11 / 3 * 25, abs=1e-9)
    assert q["subscales"]["symptoms"] is None and q["subscales"]["qol"] is None
    assert q["subscale_items"]["symptoms"] == {"answered": 3, "total": 7, "minimum": 4}
    assert q["subscale_items"]["qol"] == {"answered": 1, "total": 4, "minimum": 2}
    assert q["answers"] == answers


def test_koos_jr_missing_and_unknown_items_are_named(client, make_patient):
    p = make_patient()
    body = jr(pain_walking=2)
    del body["answers"]["pain_stairs"], body["answers"]["difficulty_rising"]
    problem = assert_problem(client.post(URL, headers=p.headers, json=body), 422,
                             "answers.pain_walking", "answers.pain_stairs",
                             "answers.difficulty_rising")
    assert sorted(e["msg"] for e in problem["errors"]) == ["required", "required",
                                                           "unknown item id"]
    assert client.get(URL, headers=p.headers).json()["items"] == []


INVALID = [
    ("instrument", {"instrument": "womac"}),
    ("completed_on", {"completed_on": "yesterday"}),
    ("answers", {"answers": {}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": 5}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": -1}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": 2.5}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": "2"}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": True}}),
    ("answers.stiffness", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "stiffness": None}}),
    ("answers.P1", {"answers": {**dict.fromkeys(JR_ITEMS, 1), "P1": 1}}),
    ("score", {"score": 80}),
]


@pytest.mark.parametrize(("field", "over"), INVALID,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(INVALID)])
def test_invalid_koos_jr_names_the_field(client, make_patient, field, over):
    p = make_patient()
    assert_problem(client.post(URL, headers=p.headers, json={**jr(), **over}), 422, field)
    assert client.get(URL, headers=p.headers).json()["items"] == []


@pytest.mark.parametrize(("field", "answers"), [
    ("answers.P10", {"P1": 1, "P10": 2}),
    ("answers.stiffness", {"P1": 1, "stiffness": 2}),
    ("answers.S1", {"S1": 7}),
])
def test_invalid_koos_names_the_item(client, make_patient, field, answers):
    p = make_patient()
    assert_problem(client.post(URL, headers=p.headers, json=koos(**answers)), 422, field)


def test_completed_on_not_after_today_in_the_patients_zone(client, make_patient, pinned_now):
    # 23:30 UTC on 5 January is already 6 January in Auckland, still 5 January in London.
    auckland, london = make_patient(tz="Pacific/Auckland"), make_patient(tz="Europe/London")
    pinned_now(dt.datetime(2026, 1, 5, 23, 30, tzinfo=dt.UTC))
    assert client.post(URL, headers=auckland.headers,
                       json=jr(completed_on="2026-01-06")).status_code == 201
    assert_problem(client.post(URL, headers=london.headers, json=jr(completed_on="2026-01-06")),
                   422, "completed_on")
    assert client.post(URL, headers=london.headers,
                       json=jr(completed_on="2026-01-05")).status_code == 201


def test_only_the_patient_writes(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    assert_problem(client.post(f"/v1/patients/{p.id}/questionnaires", headers=c.headers,
                               json=jr()), 403)
    assert client.get(f"/v1/patients/{p.id}/questionnaires", headers=c.headers).json()[
        "items"] == []


def test_list_filters_and_pagination(client, make_patient):
    p = make_patient()
    for day in range(1, 7):
        body = jr(f"2026-01-0{day}") if day % 2 else koos(f"2026-01-0{day}", Q1=1, Q2=2)
        assert client.post(URL, headers=p.headers, json=body).status_code == 201

    def dates(**params):
        return [i["completed_on"][-2:] for i in
                client.get(URL, headers=p.headers, params=params).json()["items"]]

    assert dates() == ["01", "02", "03", "04", "05", "06"]
    assert dates(instrument="koos_jr") == ["01", "03", "05"]
    assert dates(instrument="koos", **{"from": "2026-01-03", "to": "2026-01-05"}) == ["04"]
    seen, cursor = [], None
    while True:
        page = client.get(URL, headers=p.headers,
                          params={"limit": 4, **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["completed_on"][-2:] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == dates()
    assert_problem(client.get(URL, headers=p.headers, params={"instrument": "womac"}), 422,
                   "instrument")
    assert_problem(client.get(URL, headers=p.headers,
                              params={"from": "2026-01-05", "to": "2026-01-01"}), 422, "from")


def test_unknown_questionnaire_is_404(client, make_patient):
    p, other = make_patient(), make_patient()
    qid = client.post(URL, headers=other.headers, json=jr()).json()["id"]
    assert_problem(client.get(f"{URL}/{qid}", headers=p.headers), 404)
    assert client.get(f"{URL}/{qid}", headers=other.headers).status_code == 200


def test_pgic_and_pass_are_stored_with_their_answer_as_score(client, make_patient):
    p = make_patient()
    r = client.post(URL, headers=p.headers, json={"instrument": "pgic",
                                                  "completed_on": "2026-01-05",
                                                  "answers": {"change": 2}})
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["raw_score"], r.json()["subscales"]) == (2, None, None)
    r = client.post(URL, headers=p.headers, json={"instrument": "pass",
                                                  "completed_on": "2026-01-06",
                                                  "answers": {"acceptable": 0}})
    assert r.status_code == 201 and r.json()["score"] == 0
    listed = client.get(URL, headers=p.headers, params={"instrument": "pgic"}).json()["items"]
    assert [q["answers"] for q in listed] == [{"change": 2}]


@pytest.mark.parametrize(("instrument", "answers", "field"), [
    ("pgic", {"change": 0}, "answers.change"),
    ("pgic", {"change": 8}, "answers.change"),
    ("pgic", {}, "answers"),
    ("pgic", {"acceptable": 1}, "answers.acceptable"),
    ("pass", {"acceptable": 2}, "answers.acceptable"),
    ("pass", {"acceptable": True}, "answers.acceptable"),
    ("pass", {"change": 1}, "answers.change"),
    ("koos_jr", {"stiffness": 5}, "answers.stiffness"),  # 0-4 still, though PGIC takes 1-7
])
def test_invalid_single_item_answers_name_the_item(client, make_patient, instrument, answers,
                                                   field):
    p = make_patient()
    body = {"instrument": instrument, "completed_on": "2026-01-05", "answers": answers}
    assert_problem(client.post(URL, headers=p.headers, json=body), 422, field)
    assert client.get(URL, headers=p.headers).json()["items"] == []


def test_pgic_and_pass_trends(client, make_patient):
    p = make_patient()
    today = dt.datetime.now(dt.UTC).date()
    for days_ago, change, acceptable in ((40, 4, 0), (20, 3, 0), (1, 2, 1)):
        d = (today - dt.timedelta(days=days_ago)).isoformat()
        for instrument, answers in (("pgic", {"change": change}),
                                    ("pass", {"acceptable": acceptable})):
            r = client.post(URL, headers=p.headers, json={"instrument": instrument,
                                                          "completed_on": d, "answers": answers})
            assert r.status_code == 201, r.text
    pgic = client.get("/v1/patients/me/trends/pgic", headers=p.headers).json()
    assert [pt["mean"] for pt in pgic["points"]] == [4, 3, 2]
    assert pgic["direction"] == "lower_is_better" and pgic["change"] == -2
    assert pgic["status"] is None  # no threshold for a transition rating
    ok = client.get("/v1/patients/me/trends/pass?bucket=month", headers=p.headers).json()
    assert ok["direction"] == "higher_is_better"
    assert sum(pt["mean"] * pt["n"] for pt in ok["points"]) == 1  # one "acceptable" of three
    overview = client.get("/v1/patients/me/trends", headers=p.headers).json()["metrics"]
    assert overview["pgic"]["last_value"] == 2 and overview["pass"]["last_value"] == 1
