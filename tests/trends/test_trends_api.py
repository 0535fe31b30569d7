"""GET /v1/patients/{pid}/trends/{metric} over HTTP, on both databases."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from app.trends.metrics import METRICS
from tests.helpers import assert_problem
from tests.trends.conftest import NOW, day

TOL = 1e-9
URL = "/v1/patients/me/trends"


def get(client, p, path, **params):
    r = client.get(f"{URL}{path}", headers=p.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_worse_knee_takes_the_available_one_and_the_worse_of_two(client, seeded):
    p, s = seeded()
    s.entries({
        day(-3): {"left_pain": 2, "right_pain": 6, "left_flexion": 120, "right_flexion": 95},
        day(-2): {"left_pain": 4, "left_flexion": 110},  # right knee not reported
        day(-1): {"right_pain": 7, "right_flexion": 100},  # left knee not reported
        day(0): {"left_pain": 5, "right_pain": 5, "left_extension": 3, "right_extension": 8},
    })
    for metric, knee, expected in [
        ("pain", "worse", [6, 4, 7, 5]),
        ("pain", "left", [2, 4, 5]),
        ("pain", "right", [6, 7, 5]),
        ("flexion", "worse", [95, 110, 100]),  # the lower flexion is the worse
        ("extension", "worse", [8]),
    ]:
        body = get(client, p, f"/{metric}", knee=knee)
        assert [pt["mean"] for pt in body["points"]] == expected, (metric, knee)
        assert body["knee"] == knee


def test_day_points_rolling_mean_and_summary(client, seeded):
    p, s = seeded()
    # Pain 7 for a week, then a gap, then 3 for the last week: an important improvement.
    values = {day(-20 + i): 7 for i in range(7)} | {day(-6 + i): 3 for i in range(7)}
    values[day(-10)] = 5
    s.pain(values)
    body = get(client, p, "/pain")
    assert body["from"] == str(day(-89)) and body["to"] == str(day(0))
    assert body["unit"] == "NRS 0-10" and body["direction"] == "lower_is_better"
    # No plan: the baseline is the first 7 days of the record (intake).
    assert body["baseline"] == {"from": str(day(-20)), "to": str(day(-14)), "n": 7, "mean": 7.0,
                                "basis": "intake"}
    assert body["current"] == {"from": str(day(-6)), "to": str(day(0)), "n": 7, "mean": 3.0}
    assert body["change"] == -4 and body["change_percent"] == pytest.approx(-400 / 7, abs=TOL)
    th = body["thresholds"]
    assert (th["mcid"], th["mcid_percent"], th["mdc"], th["worsening"], th["acceptable"]) == (
        2, 30, 1.33, 1.33, 3.23)
    assert set(th["sources"]) == {"mcid", "mcid_percent", "mdc", "acceptable"}
    assert "Tubach" in th["sources"]["acceptable"]
    assert body["threshold_kind"] == "mcid" and body["status"] == "improved"
    assert body["acceptable_state"] is True  # 3.0 <= 3.23
    x = np.array([(d - day(0)).days for d in values], float)
    y = np.array(list(values.values()), float)
    assert abs(body["slope_per_week"] - 7 * np.polyfit(x, y, 1)[0]) < TOL
    pts = {pt["period_start"]: pt for pt in body["points"]}
    assert len(pts) == 15
    # 7 days ending day(-10): day(-16)…day(-14) at 7, day(-10) at 5.
    assert abs(pts[str(day(-10))]["rolling_mean_7d"] - (7 * 3 + 5) / 4) < TOL
    assert abs(pts[str(day(-6))]["rolling_mean_7d"] - (5 + 3) / 2) < TOL


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
@pytest.mark.parametrize("knee", ["left", "right", "worse"])
@pytest.mark.parametrize("metric", list(METRICS))
def test_every_metric_bucket_and_knee(client, seeded, metric, bucket, knee):
    p, s = seeded()
    entries = {}
    for i in range(40):
        d = day(-i)
        entries[d] = {"left_pain": i % 10, "right_pain": (i * 3) % 11, "left_stiffness": 4,
                      "right_stiffness": i % 5, "left_swelling": i % 4, "right_swelling": 1,
                      "left_flexion": 90 + i, "right_flexion": 130 - i, "left_extension": i % 7,
                      "right_extension": 2, "morning_stiffness_minutes": 10 + i,
                      "left_rom_method": "goniometer", "left_night_pain": (i * 7) % 11,
                      "right_night_pain": i % 3,
                      "analgesic_doses": None if i % 5 == 0 else i % 4}
    s.entries(entries)
    sparse = {"pgic": {day(-20): 4.0, day(-3): 2.0}, "pass": {day(-20): 0.0, day(-3): 1.0},
              "chair_stand_30s": {day(-35): 9.0, day(-2): 13.0},
              "tug": {day(-35): 12.5, day(-2): 10.25},
              "fast_walk_40m": {day(-35): 31.0, day(-2): 27.5},
              "stair_climb": {day(-35): 15.0, day(-2): 12.0}}
    for name, values in sparse.items():
        for d, v in values.items():
            if name in ("pgic", "pass"):
                s.koos_jr(d, v, instrument=name)
            else:
                s.function_test(d, name, v)
    s.function_test(day(-4), "tug", 99.0, deleted_at=NOW)  # deleted: never counted
    s.sessions((day(-2), "backward_walking", 15), (day(-2), "cycling", 30),
               (day(-9), "backward_walking", 20))
    s.koos_jr(day(-30), 48.0)
    s.koos_jr(day(-1), 70.5)
    body = get(client, p, f"/{metric}", knee=knee, bucket=bucket)
    assert body["metric"] == metric and body["bucket"] == bucket
    spec = METRICS[metric]
    assert body["knee"] == (knee if spec.per_knee else None)
    # An independent computation of the daily series, then of each bucket.
    if spec.per_knee:
        pick = {"left": lambda a, b: a, "right": lambda a, b: b,
                "worse": (min if metric == "flexion" else max)}[knee]
        daily = {d: pick(e[f"left_{metric}"], e[f"right_{metric}"]) for d, e in entries.items()}
    elif metric == "morning_stiffness":
        daily = {d: e["morning_stiffness_minutes"] for d, e in entries.items()}
    elif metric == "analgesic_doses":
        daily = {d: e["analgesic_doses"] for d, e in entries.items()
                 if e["analgesic_doses"] is not None}
    elif metric in sparse:
        daily = sparse[metric]
    elif metric == "koos_jr":
        daily = {day(-30): 48.0, day(-1): 70.5}
    else:
        daily = {d: 0 for d in entries}
        if metric == "exercise_minutes":
            daily.update({day(-2): 45, day(-9): 20})
        else:
            daily.update({day(-2): 2, day(-9): 1})

    def start(d):
        if bucket == "week":
            return d - __import__("datetime").timedelta(days=d.weekday())
        return d.replace(day=1) if bucket == "month" else d

    groups: dict = {}
    for d in sorted(daily):
        groups.setdefault(start(d), []).append(daily[d])
    assert [pt["period_start"] for pt in body["points"]] == [str(k) for k in groups]
    for pt, vals in zip(body["points"], groups.values(), strict=True):
        assert pt["n"] == len(vals) and abs(pt["mean"] - statistics.fmean(vals)) < TOL
        assert pt["min"] == min(vals) and pt["max"] == max(vals)
        assert (pt["rolling_mean_7d"] is None) == (bucket != "day")
    assert body["n"] == len(daily)


def test_rom_threshold_follows_the_method(client, seeded):
    p, s = seeded()
    s.entries({day(-i): {"left_flexion": 100, "left_rom_method": "inclinometer"}
               for i in range(10)})
    body = get(client, p, "/flexion")
    # Measurement error, never an MCID: judged by the MDC and never called important.
    assert body["thresholds"]["mdc"] == 6 and body["thresholds"]["mcid"] is None
    assert body["threshold_kind"] == "mdc" and "Hancock" in body["thresholds"]["sources"]["mdc"]
    s.entries({day(-20): {"left_flexion": 100, "left_rom_method": "smartphone_app"}})
    assert get(client, p, "/flexion")["thresholds"]["mdc"] == 12  # mixed: the largest error
    s.entries({day(-25): {"left_flexion": 100}})  # no method: a self estimate
    assert get(client, p, "/flexion")["thresholds"]["mdc"] == 14
    assert get(client, p, "/flexion", **{"from": str(day(-9))})["thresholds"]["mdc"] == 6


def test_rom_status_uses_the_method_error(client, seeded):
    p, s = seeded()
    s.entries({day(-30 + i): {"left_flexion": 100, "left_rom_method": "inclinometer"}
               for i in range(7)})
    s.entries({day(-i): {"left_flexion": 107, "left_rom_method": "inclinometer"}
               for i in range(7)})
    body = get(client, p, "/flexion")
    assert body["change"] == 7 and body["status"] == "improved"
    s.entries({day(-40): {"left_flexion": 100, "left_rom_method": "goniometer"}})
    body = get(client, p, "/flexion", baseline_from=str(day(-30)), baseline_to=str(day(-24)))
    assert body["baseline"]["basis"] == "custom"
    assert body["thresholds"]["mdc"] == 10 and body["status"] == "no_important_change"


def test_weekly_rom_is_judged_on_14_day_periods(client, seeded):
    """A goniometer reading once a week (the realistic cadence) gets a verdict."""
    p, s = seeded()
    s.entries({day(-7 * w): {"left_flexion": 100 + 3 * (12 - w), "left_rom_method": "goniometer"}
               for w in range(12, -1, -1)})
    body = get(client, p, "/flexion")
    # Intake: the first 14 days hold weeks 12 and 11 (100, 103); the last 14 days weeks 1, 0.
    assert body["baseline"]["n"] == 2 and body["baseline"]["mean"] == 101.5
    assert body["current"]["n"] == 2 and body["current"]["mean"] == 134.5
    assert body["status"] == "improved" and body["threshold_kind"] == "mdc"


def test_exercise_series_is_zero_filled_from_the_first_record(client, seeded):
    p, s = seeded()
    s.entries({day(-9): {"left_pain": 3}})
    s.sessions((day(-5), "backward_walking", 15), (day(-5), "backward_walking", 10),
               (day(-1), "strengthening", 20))
    body = get(client, p, "/exercise_minutes")
    assert [(pt["period_start"], pt["mean"]) for pt in body["points"]] == [
        (str(day(-i)), {5: 25.0, 1: 20.0}.get(i, 0.0)) for i in range(9, -1, -1)]
    assert body["status"] is None and body["threshold_kind"] is None
    assert body["thresholds"]["mcid"] is None and body["thresholds"]["sources"] == {}
    sessions = get(client, p, "/exercise_sessions", bucket="week")
    assert sum(pt["mean"] * pt["n"] for pt in sessions["points"]) == 3
    empty_p, _ = seeded()
    assert get(client, empty_p, "/exercise_minutes")["points"] == []


def test_koos_jr_compares_first_and_last_score(client, seeded):
    p, s = seeded()
    s.koos_jr(day(-60), 50.0)
    s.koos_jr(day(-30), 55.0)
    s.koos_jr(day(-2), 66.7)
    body = get(client, p, "/koos_jr")
    assert body["baseline"]["mean"] == 50.0 and body["current"]["mean"] == 66.7
    assert abs(body["change"] - 16.7) < TOL and body["thresholds"]["mcid"] == 14
    assert body["status"] == "improved"
    one, s1 = seeded()
    s1.koos_jr(day(-2), 60.0)
    assert get(client, one, "/koos_jr")["status"] == "insufficient_data"


def test_insufficient_data_and_empty_window(client, seeded):
    p, s = seeded()
    s.pain({day(-40): 5, day(-39): 5, day(-1): 3, day(0): 3})
    body = get(client, p, "/pain")
    assert body["baseline"]["n"] == 2 and body["status"] == "insufficient_data"
    assert body["change"] is None and body["slope_per_week"] is None
    empty, _ = seeded()
    body = get(client, empty, "/stiffness")
    assert body["points"] == [] and body["status"] == "insufficient_data"


def test_window_uses_the_patients_time_zone(client, seeded):
    # 12:00 UTC on 1 March is already 2 March in Kiritimati (UTC+14).
    p, _s = seeded(tz="Pacific/Kiritimati")
    assert get(client, p, "/pain")["to"] == str(day(1))


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-02-10", "to": "2026-02-01"}, "from"),
    ({"bucket": "year"}, "bucket"),
    ({"knee": "both"}, "knee"),
    ({"from": "not-a-date"}, "from"),
    ({"baseline_from": "2026-02-10", "baseline_to": "2026-02-01"}, "baseline_from"),
    ({"baseline_from": "2026-02-10", "baseline_to": "2026-04-01"}, "baseline_to"),
    ({"from": "2010-01-01"}, "from"),
    ({"baseline": "yesterday"}, "baseline"),
    ({"baseline": "plan"}, "baseline"),  # no plan
    ({"baseline": "treatment"}, "baseline"),  # no treatment recorded
    ({"baseline": "custom"}, "baseline_from"),
    ({"baseline": "plan", "baseline_from": "2026-02-01"}, "baseline"),
])
def test_invalid_parameters_name_the_field(client, seeded, params, field):
    p, _ = seeded()
    assert_problem(client.get(f"{URL}/pain", headers=p.headers, params=params), 422, field)


def test_unknown_metric_is_422_naming_it(client, seeded):
    p, _ = seeded()
    assert_problem(client.get(f"{URL}/happiness", headers=p.headers), 422, "metric")


def test_clinician_on_the_care_team_reads_trends(client, seeded, care_clinician):
    p, s = seeded()
    c = care_clinician(p)
    s.pain({day(0): 4})
    r = client.get(f"/v1/patients/{p.id}/trends/pain", headers=c.headers)
    assert r.status_code == 200 and r.json()["points"][0]["mean"] == 4


def test_entries_written_over_the_api_and_deleted_ones(client, make_patient):
    import datetime as dt

    p = make_patient()
    today = dt.datetime.now(dt.UTC).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    d0 = today.date() - dt.timedelta(days=1)
    d1 = today.date() - dt.timedelta(days=2)
    for d, knees in [(d0, {"left": {"pain": 2}, "right": {"pain": 6}}),
                     (d1, {"left": {"pain": 9}})]:
        r = client.put(f"/v1/patients/me/symptom-entries/{d}", headers=p.headers,
                       json={"knees": knees})
        assert r.status_code == 201, r.text
    assert [pt["mean"] for pt in get(client, p, "/pain")["points"]] == [9, 6]
    assert client.delete(f"/v1/patients/me/symptom-entries/{d1}",
                         headers=p.headers).status_code == 204
    assert [pt["mean"] for pt in get(client, p, "/pain")["points"]] == [6]


def test_first_rolling_means_read_the_days_before_the_window(client, seeded):
    p, s = seeded()
    s.pain({day(-12): 8, day(-10): 6, day(-9): 2})
    body = get(client, p, "/pain", **{"from": str(day(-9))})
    assert [pt["period_start"] for pt in body["points"]] == [str(day(-9))]
    assert body["points"][0]["rolling_mean_7d"] == pytest.approx((8 + 6 + 2) / 3, abs=TOL)
    # The baseline is the record's first days whatever the window: it does not move with it.
    assert (body["baseline"]["from"], body["baseline"]["n"]) == (str(day(-12)), 3)
    assert body["baseline"]["basis"] == "intake"


def test_exercise_response_takes_only_diary_metrics(client, make_patient):
    """Exercise minutes or the KOOS-JR are not daily symptoms: 422 naming the metric (the
    conformance run found `metric=exercise_minutes&knee=right` answering 500)."""
    p = make_patient()
    for metric in ("exercise_minutes", "exercise_sessions", "koos_jr"):
        r = client.get("/v1/patients/me/trends/exercise-response", headers=p.headers,
                       params={"activity": "backward_walking", "metric": metric, "knee": "right"})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["query", "metric"]


def test_the_verdict_does_not_change_with_the_zoom(client, seeded):
    """SPEC §4: the same patient, metric and knee give the same baseline and status whatever
    `from` is (v1 read "improved" at 12 weeks and "no change" at 4 for the same patient)."""
    p, s = seeded()
    s.plan("backward_walking", day(-60))
    # Pain 7 before the plan, easing to 4 over the plan's weeks.
    s.pain({day(-67 + i): 7 for i in range(7)})
    s.pain({day(-60 + i): round(7 - 3 * i / 60) for i in range(61)})
    bodies = [get(client, p, "/pain", **{"from": str(day(-n))}) for n in (27, 83, 365)]
    for body in bodies:
        assert body["baseline"] == {"from": str(day(-67)), "to": str(day(-61)), "n": 7,
                                    "mean": 7.0, "basis": "plan"}
        assert body["status"] == "improved" and body["change"] == bodies[0]["change"]
    # The v1 rule is still there when asked for, and it does move with the window.
    moving = [get(client, p, "/pain", baseline="window", **{"from": str(day(-n))})
              for n in (27, 83)]
    assert moving[0]["baseline"]["basis"] == "window"
    assert moving[0]["baseline"]["from"] != moving[1]["baseline"]["from"]
    # An explicit intake baseline is the record's first days.
    assert get(client, p, "/pain", baseline="intake")["baseline"]["from"] == str(day(-67))


def test_plan_baseline_falls_back_to_the_plans_first_week(client, seeded):
    p, s = seeded()
    s.plan("backward_walking", day(-30))
    s.pain({day(-31): 8, day(-32): 8})  # 2 values before the start: fewer than 3
    s.pain({day(-30 + i): 6 for i in range(31)})
    body = get(client, p, "/pain", baseline="plan")
    assert body["baseline"] == {"from": str(day(-30)), "to": str(day(-24)), "n": 7, "mean": 6.0,
                                "basis": "plan"}
    assert body["status"] == "no_important_change"


def test_relative_mcid_and_acceptable_state_at_low_pain(client, seeded):
    """A patient at 3/10 easing to about 1.6/10 (−48 %, under the 2-point MCID) has improved
    (the 30 % rule, beyond the MDC) and is in an acceptable symptom state; a patient at 1/10
    is not "not improving"."""
    p, s = seeded()
    s.pain({day(-40 + i): 3 for i in range(7)}
           | {day(-6 + i): v for i, v in enumerate([1, 2, 1, 2, 1, 2, 2])})
    body = get(client, p, "/pain")
    assert body["change"] == pytest.approx(11 / 7 - 3, abs=TOL) and body["status"] == "improved"
    assert body["acceptable_state"] is True
    low, s2 = seeded()
    s2.pain({day(-40 + i): 1 for i in range(7)} | {day(-6 + i): 1 for i in range(7)})
    body = get(client, low, "/pain")
    assert body["status"] == "no_important_change" and body["acceptable_state"] is True
    high, s3 = seeded()
    s3.pain({day(-40 + i): 6 for i in range(7)} | {day(-6 + i): 8 for i in range(7)})
    body = get(client, high, "/pain")
    assert body["status"] == "worsened" and body["acceptable_state"] is False


def test_the_index_knee_is_the_default(client, seeded):
    p, s = seeded()
    s.entries({day(-i): {"left_pain": 2, "right_pain": 6} for i in range(3)})
    assert get(client, p, "/pain")["knee"] == "worse"  # no index knee: the worse knee
    r = client.patch("/v1/patients/me", headers={**p.headers, "If-Match": "*"},
                     json={"index_knee": "left"})
    assert r.status_code == 200, r.text
    body = get(client, p, "/pain")
    assert body["knee"] == "left" and [pt["mean"] for pt in body["points"]] == [2, 2, 2]
    assert get(client, p, "/pain", knee="right")["knee"] == "right"


def test_session_pain_and_the_pain_monitoring_limits(client, seeded):
    p, s = seeded()
    s.pain({day(-5): 3, day(-4): 5, day(-2): 2, day(-1): 2})
    s.sessions((day(-5), "backward_walking", 15), pain_before=3, pain_after=6)
    s.sessions((day(-2), "backward_walking", 15), pain_before=2, pain_after=3)
    s.sessions((day(-3), "cycling", 20), pain_before=4, pain_after=4)
    body = get(client, p, "/session-pain", activity="backward_walking")
    assert [(i["date"], i["pain_before"], i["pain_after"], i["next_day_pain"])
            for i in body["items"]] == [(str(day(-5)), 3, 6, 5), (str(day(-2)), 2, 3, 2)]
    assert [(i["after_above_5"], i["next_day_above_before"]) for i in body["items"]] == [
        (True, True), (False, False)]
    assert body["over_limit"] == {"after_above_5": 1, "next_day_above_before": 1}
    assert "Thomeé" in body["source"]
    assert len(get(client, p, "/session-pain")["items"]) == 3


@pytest.mark.parametrize("params", [
    {"from": "1900-01-01", "to": "1900-01-31", "baseline_from": "1900-01-01",
     "baseline_to": "1900-01-07"},
    {"from": "2100-12-01", "to": "2100-12-31"},
    {"from": "2100-12-01", "to": "2100-12-31", "baseline": "window"},
    {"from": "1900-01-01", "to": "1900-01-31", "baseline": "intake"},
])
@pytest.mark.parametrize("path", ["/pain", "/flexion", "/koos_jr", "/exercise_minutes",
                                  "/session-pain", ""])
def test_windows_and_baselines_at_the_edges_of_the_calendar(client, seeded, params, path):
    p, s = seeded()
    s.plan("backward_walking", day(-10))
    s.pain({day(-i): 3 for i in range(20)})
    if path in ("/session-pain", "") and "baseline_from" in params:
        params = {k: v for k, v in params.items() if not k.startswith("baseline_")}
    if path == "/session-pain":
        params = {k: v for k, v in params.items() if k != "baseline"}
    body = get(client, p, path, **params)
    assert body["from"] == params["from"] and body["to"] == params["to"]


def test_since_the_embolisation_is_one_query(client, seeded):
    """baseline=treatment: the 7 days before the latest treatment of the knee."""
    p, s = seeded()
    s.pain({day(-40 + i): 7 for i in range(20)} | {day(-20 + i): 3 for i in range(21)})
    r = client.post("/v1/patients/me/treatments", headers=p.headers, json={
        "kind": "genicular_artery_embolisation", "knee": "left", "date": str(day(-20))})
    assert r.status_code == 201, r.text
    body = get(client, p, "/pain", knee="left", baseline="treatment")
    assert body["baseline"] == {"from": str(day(-27)), "to": str(day(-21)), "n": 7, "mean": 7.0,
                                "basis": "treatment"}
    assert body["change"] == -4 and body["status"] == "improved"
    # A treatment of the other knee does not anchor this one.
    assert_problem(client.get(f"{URL}/pain", headers=p.headers,
                              params={"knee": "right", "baseline": "treatment"}), 422,
                   "baseline")
