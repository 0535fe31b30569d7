"""The overview, exercise response and the clinician's panel, over HTTP."""

from __future__ import annotations

import datetime as dt

import numpy as np

from app.trends.metrics import METRICS
from tests.helpers import assert_problem
from tests.trends.conftest import day

TOL = 1e-9


def walked_on(d):
    i = (d - day(-60)).days
    return 1 <= i <= 60 and i % 3 == 0


def test_exercise_response_against_statsmodels(client, seeded):
    p, s = seeded()
    pain = {}
    walked, rested, other = [], [], []
    for i in range(1, 61):
        d = day(-60 + i)
        kind = ("walk", "rest", "cycle")[i % 3]
        if kind == "walk":
            s.sessions((d, "backward_walking", 15))
        elif kind == "cycle":
            s.sessions((d, "cycling", 20))
    for i in range(1, 61):
        d = day(-60 + i)
        v = 3 + (i * 7) % 5
        pain[d] = v
        before = ("walk", "rest", "cycle")[(i - 1) % 3] if i > 1 else None
        if before == "walk":
            walked.append(v)
        elif before == "rest":
            rested.append(v)
        elif before == "cycle":
            other.append(v)
    s.pain(pain)
    r = client.get("/v1/patients/me/trends/exercise-response", headers=p.headers,
                   params={"activity": "backward_walking"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["lag_days"] == 1 and body["metric"] == "pain" and body["enough_data"] is True
    # The first day of data (day -59) follows day -60, before the patient's first record
    # but still a day without a session: it counts as after rest.
    rested_all = [pain[day(-59)], *rested]
    d = body["descriptive"]
    assert d["after_activity"]["n"] == len(walked)
    assert d["after_rest"]["n"] == len(rested_all)
    assert abs(d["difference"] - (np.mean(walked) - np.mean(rested_all))) < TOL
    # The adjusted model, refitted here independently with statsmodels' formula interface.
    import pandas as pd
    import statsmodels.formula.api as smf

    rows = [{"y": pain[d], "a": float(walked_on(d - dt.timedelta(days=1))),
             "t": float((d - day(-89)).days), "prev": pain[d - dt.timedelta(days=1)]}
            for d in sorted(pain) if d - dt.timedelta(days=1) in pain]
    fit = smf.ols("y ~ a + t + prev", pd.DataFrame(rows)).fit(
        cov_type="HAC", cov_kwds={"maxlags": 7})
    assert body["method"] == "ols_trend_ar1_hac7" and body["n"] == len(rows) == 59
    assert abs(body["effect"] - fit.params["a"]) < TOL
    low, high = fit.conf_int().loc["a"]
    assert abs(body["ci95"][0] - low) < TOL and abs(body["ci95"][1] - high) < TOL
    assert body["before_after"] is None


def test_exercise_response_before_after_plan_and_little_data(client, seeded):
    p, s = seeded()
    s.plan("backward_walking", day(-30))
    s.pain({day(-44 + i): 6 for i in range(14)} | {day(-13 + i): 4 for i in range(14)})
    s.sessions((day(-5), "backward_walking", 15))
    r = client.get("/v1/patients/me/trends/exercise-response", headers=p.headers,
                   params={"activity": "backward_walking", "lag_days": 0})
    body = r.json()
    assert body["enough_data"] is False and body["descriptive"]["after_activity"]["n"] == 1
    assert body["ci95"] is None and body["effect"] is None
    ba = body["before_after"]
    assert ba["design"] == "uncontrolled"
    assert ba["plan_start"] == str(day(-30))
    assert ba["before"] == {"from": str(day(-44)), "to": str(day(-31)), "n": 14, "mean": 6.0}
    assert ba["after"]["n"] == 14 and ba["after"]["mean"] == 4.0 and ba["change"] == -2.0


def test_exercise_response_validation(client, seeded):
    p, _ = seeded()
    url = "/v1/patients/me/trends/exercise-response"
    assert_problem(client.get(url, headers=p.headers), 422, "activity")
    assert_problem(client.get(url, headers=p.headers,
                              params={"activity": "juggling"}), 422, "activity")
    assert_problem(client.get(url, headers=p.headers,
                              params={"activity": "cycling", "lag_days": 30}), 422, "lag_days")


def test_overview_has_every_metric_flags_and_adherence(client, seeded):
    p, s = seeded()
    s.plan("backward_walking", day(-35), minutes=15, per_week=3)
    s.entries({day(-i): {"left_pain": 4, "morning_stiffness_minutes": 20} for i in range(40)})
    # Week of day -28 … : 3, 2, 3, 1 qualifying sessions in the last four scored weeks.
    monday = day(0) - __import__("datetime").timedelta(days=day(0).weekday())
    weeks = [monday - __import__("datetime").timedelta(days=7 * k) for k in (4, 3, 2, 1)]
    for w, n in zip(weeks, (3, 2, 3, 1), strict=True):
        s.sessions(*[(w + __import__("datetime").timedelta(days=k), "backward_walking", 15)
                     for k in range(n)])
    s.sessions((weeks[0], "backward_walking", 5))  # too short to count
    s.sessions((day(-1), "backward_walking", 15), falls=1)
    r = client.get("/v1/patients/me/trends", headers=p.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["metrics"]) == set(METRICS)
    assert all("points" not in m for m in body["metrics"].values())
    assert body["metrics"]["pain"]["current"]["mean"] == 4.0
    assert body["last_entry_date"] == str(day(0))
    assert [f["rule"] for f in body["flags"]] == ["fall"]
    plan = body["adherence"]["plans"][0]
    by_week = {w["week_start"]: w for w in plan["weeks"]}
    assert [by_week[str(w)]["sessions"] for w in weeks] == [3, 2, 3, 1]
    assert abs(plan["adherence_4w"] - 9 / 12) < TOL
    assert abs(body["adherence"]["adherence_4w"] - 9 / 12) < TOL
    right = client.get("/v1/patients/me/trends", headers=p.headers, params={"knee": "right"})
    assert right.status_code == 200 and right.json()["knee"] == "right"
    assert right.json()["metrics"]["pain"]["n"] == 0  # only the left knee was reported
    assert right.json()["metrics"]["morning_stiffness"]["n"] == 40


def test_overview_runs_a_fixed_number_of_queries(client, seeded, engine):
    from sqlalchemy import event

    p, s = seeded()
    s.plan("cycling", day(-50))
    s.entries({day(-i): {"left_pain": 4} for i in range(60)})
    statements: list[str] = []

    def count(conn, cursor, statement, *a):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/v1/patients/me/trends", headers=p.headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    reads = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
    # actor + patient lookups, then plans, diary, exercise, KOOS-JR, adherence, record dates.
    assert len(reads) <= 10, reads


def test_panel_numbers_and_concern_order(client, seeded, care_clinician, engine):
    from sqlalchemy import event

    calm, s1 = seeded()
    s1.pain({day(-i): 3 for i in range(40)})
    worse, s2 = seeded()
    s2.pain({day(-i): 3 if i >= 28 else 6 for i in range(40)})
    fell, s3 = seeded()
    s3.pain({day(-i): 3 for i in range(10)})
    s3.sessions((day(-1), "backward_walking", 15), falls=1)
    s3.plan("backward_walking", day(-30), per_week=2)
    c = care_clinician(calm, worse, fell)
    statements: list[str] = []
    listener = lambda conn, cur, st, *a: statements.append(st)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        r = client.get("/v1/clinicians/me/patients", headers=c.headers,
                       params={"sort": "concern"})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["patient_id"] for i in items] == [fell.id, worse.id, calm.id]
    by_id = {i["patient_id"]: i for i in items}
    assert by_id[calm.id]["pain_mean_7d"] == 3 and by_id[calm.id]["pain_change_28d"] == 0
    assert by_id[worse.id]["pain_change_28d"] == 3 and by_id[worse.id]["pain_mean_7d"] == 6
    assert by_id[worse.id]["pain_slope_per_week"] is not None
    assert by_id[fell.id]["flags"][0]["rule"] == "fall"
    assert by_id[fell.id]["pain_change_28d"] is None
    # Two sessions a week prescribed; the one session falls in the week in progress.
    assert abs(by_id[fell.id]["adherence_4w"] - 0) < TOL
    assert by_id[calm.id]["adherence_4w"] is None
    reads = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 10, len(reads)
    default = client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"]
    assert len(default) == 3
    assert_problem(client.get("/v1/clinicians/me/patients", headers=c.headers,
                              params={"sort": "mood"}), 422, "sort")


def test_plan_written_over_the_api_drives_adherence(client, seeded, care_clinician):
    p, s = seeded()
    c = care_clinician(p)
    r = client.post(f"/v1/patients/{p.id}/exercise-plans", headers=c.headers, json={
        "activity": "strengthening", "minutes_per_session": 20, "sessions_per_week": 2,
        "start_date": str(day(-21))})
    assert r.status_code == 201, r.text
    monday = day(-13) - __import__("datetime").timedelta(days=day(-13).weekday())
    s.sessions((monday, "strengthening", 16), (monday, "strengthening", 15))  # 16 = 80 %
    body = client.get(f"/v1/patients/{p.id}/trends", headers=c.headers).json()
    [plan] = body["adherence"]["plans"]
    assert plan["plan_id"] == r.json()["id"] and plan["activity"] == "strengthening"
    week = next(w for w in plan["weeks"] if w["week_start"] == str(monday))
    assert (week["sessions"], week["prescribed"], week["adherence"]) == (1, 2, 0.5)


def test_panel_pages_in_either_order(client, seeded, care_clinician):
    calm, s1 = seeded()
    s1.pain({day(-i): 3 for i in range(40)})
    worse, s2 = seeded()
    s2.pain({day(-i): 3 if i >= 28 else 6 for i in range(40)})
    fell, s3 = seeded()
    s3.sessions((day(-1), "backward_walking", 15), falls=1)
    c = care_clinician(calm, worse, fell)
    url = "/v1/clinicians/me/patients"
    for sort in ("concern", "name"):
        whole = client.get(url, headers=c.headers, params={"sort": sort}).json()
        assert whole["next_cursor"] is None and len(whole["items"]) == 3
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 1} | ({"cursor": cursor} if cursor else {})
            page = client.get(url, headers=c.headers, params=params).json()
            assert len(page["items"]) == 1
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole["items"]
    assert [i["patient_id"] for i in seen] == [i["patient_id"] for i in whole["items"]]
    first = client.get(url, headers=c.headers, params={"sort": "concern", "limit": 1}).json()
    assert first["items"][0]["patient_id"] == fell.id
    assert_problem(client.get(url, headers=c.headers, params={"limit": 0}), 422, "limit")
    assert_problem(client.get(url, headers=c.headers, params={"cursor": "garbage"}), 422,
                   "cursor")
