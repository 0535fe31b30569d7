"""`kneetrack demo` gives the trend engine something real to show."""

from __future__ import annotations

from tests.conftest import sign_in


def test_demo_data_shows_flags_adherence_and_exercise_response(client, app):
    from app.demo import CLINICIAN_EMAIL, load_demo

    lines = list(load_demo(password="demo-password-1"))
    if lines == ["demo data already loaded"]:
        return
    token = sign_in(client, CLINICIAN_EMAIL, "demo-password-1")["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    panel = client.get("/v1/clinicians/me/patients", headers=h, params={"sort": "concern"})
    assert panel.status_code == 200, panel.text
    items = {i["display_name"]: i for i in panel.json()["items"]}
    maria = items["Maria Improving"]
    assert next(i["display_name"] for i in panel.json()["items"]) == "Maria Improving"  # a fall
    shown = {f["rule"]: f for f in maria["flags"]}
    assert shown["fall"]["status"] == "open" and shown["fall"]["severity"] == "urgent"
    assert shown["pain_episode"]["status"] == "reviewed"  # seen by the demo clinician
    assert shown["pain_episode"]["review_note"].startswith("Phoned her")
    assert maria["adherence_4w"] == 1.0  # four sessions a week of ≥ 12 minutes, 3 prescribed
    john_flare = next(f for f in items["John Flaring"]["flags"] if f["rule"] == "pain_episode")
    assert "patient_flare" in john_flare["criteria"] and john_flare["status"] == "open"
    assert [f["rule"] for f in items["Aiko Quiet"]["flags"]] == ["disengaged"]
    pid = maria["patient_id"]
    trend = client.get(f"/v1/patients/{pid}/trends/pain", headers=h,
                       params={"bucket": "week"}).json()
    assert trend["status"] == "improved" and trend["slope_per_week"] < 0
    # The same verdict at 4 and at 12 weeks: the baseline is the week before her plan.
    import datetime as dt

    today = dt.date.fromisoformat(trend["to"])
    views = [client.get(f"/v1/patients/{pid}/trends/pain", headers=h,
                        params={"from": str(today - dt.timedelta(days=7 * w - 1))}).json()
             for w in (4, 12)]
    assert views[0]["baseline"] == views[1]["baseline"]
    assert views[0]["baseline"]["basis"] == "plan"
    assert [v["status"] for v in views] == ["improved", "improved"]
    # Weekly goniometer ROM gets a verdict judged by measurement error.
    rom = client.get(f"/v1/patients/{pid}/trends/flexion", headers=h).json()
    assert rom["status"] != "insufficient_data" and rom["threshold_kind"] == "mdc"
    assert rom["thresholds"]["mdc"] == 10  # goniometer
    # Nora's pain eases on its own; her walking is not credited with it.
    nora = items["Nora Easing"]["patient_id"]
    r = client.get(f"/v1/patients/{nora}/trends/exercise-response", headers=h,
                   params={"activity": "backward_walking"}).json()
    assert r["enough_data"] and r["ci95"][0] <= 0 <= r["ci95"][1]
    assert r["descriptive"]["difference"] < -1  # what v1 reported as an effect
    resp = client.get(f"/v1/patients/{pid}/trends/exercise-response", headers=h,
                      params={"activity": "backward_walking"}).json()
    assert resp["enough_data"] is True and resp["before_after"]["before"]["n"] == 14
    # The knee-OA programme measures (SPEC v2 §2): Maria's function tests at intake and week 6,
    # John's week of analgesics during his flare, Ruth's embolisation and what followed it.
    chair = client.get(f"/v1/patients/{pid}/trends/chair_stand_30s", headers=h).json()
    assert [pt["mean"] for pt in chair["points"]] == [9, 13]
    assert chair["change"] == 4 and chair["status"] == "improved"
    assert [pt["mean"] for pt in client.get(f"/v1/patients/{pid}/trends/pgic",
                                            headers=h).json()["points"]] == [2]
    john = items["John Flaring"]["patient_id"]
    doses = client.get(f"/v1/patients/{john}/trends/analgesic_doses", headers=h).json()
    assert [pt["mean"] for pt in doses["points"]] == [2, 2, 2, 3, 3, 3, 3]
    ruth = items["Ruth Embolised"]["patient_id"]
    [gae] = client.get(f"/v1/patients/{ruth}/treatments", headers=h).json()["items"]
    assert gae["kind"] == "genicular_artery_embolisation" and gae["knee"] == "left"
    import datetime as dt

    day = dt.date.fromisoformat(gae["date"])
    since = client.get(f"/v1/patients/{ruth}/trends/pain", headers=h, params={
        "baseline_from": str(day - dt.timedelta(days=7)),
        "baseline_to": str(day - dt.timedelta(days=1))}).json()
    assert since["baseline"]["mean"] > 6 and since["current"]["mean"] < 4
    assert since["status"] == "improved"
    weekly = client.get(f"/v1/patients/{ruth}/trends/analgesic_doses", headers=h,
                        params={"bucket": "week"}).json()["points"]
    assert weekly[0]["mean"] == 3 and weekly[-1]["mean"] == 1
