"""Issue 17, finding 1: dates out of any clinical range, and one patient's data breaking
another's view. An exercise plan starting 0001-01-01 or 9999-12-25 was accepted (201), and
from then on that patient's trends, flags and exercise response, and the panel and dashboard of
every clinician on the care team, answered 500."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, Account
from tests.helpers import assert_problem, entry

PLANS = "/v1/patients/{pid}/exercise-plans"
HTML = {"Accept": "text/html"}


def plan_body(start: str, end: str | None = None) -> dict[str, object]:
    return {
        "activity": "backward_walking",
        "minutes_per_session": 15,
        "sessions_per_week": 3,
        "start_date": start,
        "end_date": end,
    }


def views(pid: str) -> list[str]:
    """Every view computed from a patient's plans and dates."""
    return [
        f"/v1/patients/{pid}/trends/pain",
        f"/v1/patients/{pid}/trends",
        f"/v1/patients/{pid}/trends/exercise_minutes",
        f"/v1/patients/{pid}/flags",
        f"/v1/patients/{pid}/trends/exercise-response?activity=backward_walking&metric=pain",
        "/v1/clinicians/me/patients",
        "/v1/clinicians/me/patients?sort=concern",
    ]


@pytest.fixture()
def browserish(app):
    with TestClient(
        app, base_url="https://testserver", raise_server_exceptions=False, follow_redirects=False
    ) as c:
        yield c


def dashboard(c: TestClient, email: str, path: str = "/dashboard") -> str:
    form = c.get("/dashboard/sign-in", headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text).group(1)
    r = c.post(
        "/dashboard/sign-in",
        headers=HTML,
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 303, r.text
    page = c.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.parametrize("start", ["0001-01-01", "9999-12-25"])
def test_the_attack_plan_is_refused_and_every_view_stays_up(
    client, make_patient, make_clinician, link, start
):
    victim, attacker, other = make_patient(), make_clinician(), make_clinician()
    link(victim, attacker)
    link(victim, other)
    r = client.post(PLANS.format(pid=victim.id), headers=attacker.headers, json=plan_body(start))
    assert_problem(r, 422, "body.start_date")
    for who in (attacker, other):
        for path in views(victim.id):
            assert client.get(path, headers=who.headers).status_code == 200, path


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_date", "1899-12-31"),
        ("start_date", "2101-01-01"),
        ("end_date", "9999-12-31"),
    ],
)
def test_plan_dates_outside_the_clinical_range_are_422(
    client, make_patient, make_clinician, link, field, value
):
    p, c = make_patient(), make_clinician()
    link(p, c)
    body = plan_body("2026-01-05")
    body[field] = value
    assert_problem(
        client.post(PLANS.format(pid=p.id), headers=c.headers, json=body), 422, f"body.{field}"
    )


def test_plans_lie_within_five_years_of_today(
    client, make_patient, make_clinician, link, pinned_now
):
    p, c = make_patient(), make_clinician()
    link(p, c)
    pinned_now(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    url = PLANS.format(pid=p.id)
    assert client.post(url, headers=c.headers, json=plan_body("2021-06-01")).status_code == 201
    assert (
        client.post(url, headers=c.headers, json=plan_body("2026-06-01", "2031-06-01")).status_code
        == 201
    )
    assert_problem(
        client.post(url, headers=c.headers, json=plan_body("2021-05-30")), 422, "body.start_date"
    )
    assert_problem(
        client.post(url, headers=c.headers, json=plan_body("2026-06-01", "2031-06-03")),
        422,
        "body.end_date",
    )
    pid = client.post(url, headers=c.headers, json=plan_body("2026-06-01")).json()["id"]
    assert_problem(
        client.patch(f"{url}/{pid}", headers=c.headers, json={"start_date": "2035-01-01"}),
        422,
        "body.start_date",
    )


def recent_entries(client: TestClient, patient: Account, pain: int) -> None:
    today = dt.datetime.now(dt.UTC).date()
    for back in (1, 2, 3):
        day = (today - dt.timedelta(days=back)).isoformat()
        r = client.put(
            f"/v1/patients/{patient.id}/symptom-entries/{day}",
            headers=patient.headers,
            json=entry(pain=pain),
        )
        assert r.status_code == 201, r.text


def _store_bad_plans(patient_id: str) -> None:
    """Rows as the attack left them (written before the bound existed): straight into the
    database, past the API's checks."""
    from sqlmodel import Session

    from app.db import get_engine
    from app.diary.models import ExercisePlan, ExerciseSession, SymptomEntry

    now = dt.datetime.now(dt.UTC)
    pid = uuid.UUID(patient_id)
    with Session(get_engine()) as s:
        for start, end in (
            (dt.date(1, 1, 1), None),
            (dt.date(9999, 12, 25), None),
            (dt.date(1, 1, 1), dt.date(9999, 12, 31)),
        ):
            s.add(
                ExercisePlan(
                    patient_id=pid,
                    clinician_id=None,
                    version=1,
                    activity="backward_walking",
                    minutes_per_session=15,
                    sessions_per_week=3,
                    start_date=start,
                    end_date=end,
                    created_at=now,
                    updated_at=now,
                )
            )
        for day in (dt.date(1, 1, 1), dt.date(1, 1, 2)):
            s.add(
                SymptomEntry(
                    patient_id=pid,
                    entry_date=day,
                    version=1,
                    left_pain=4,
                    recorded_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        s.add(
            ExerciseSession(
                id=uuid.uuid4(),
                patient_id=pid,
                version=1,
                activity="backward_walking",
                started_at=dt.datetime(1, 1, 1, 12, tzinfo=dt.UTC),
                utc_offset_minutes=0,
                local_date=dt.date(1, 1, 1),
                duration_minutes=20,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()


def test_bad_rows_already_stored_break_no_view(
    client, browserish, make_patient, make_clinician, link
):
    bad, good, c = make_patient(), make_patient(), make_clinician()
    link(bad, c)
    link(good, c)
    recent_entries(client, good, pain=5)
    _store_bad_plans(bad.id)
    for who in (c, bad):
        for path in views(bad.id):
            if "clinicians" in path and who is bad:
                continue
            assert client.get(path, headers=who.headers).status_code == 200, path
    panel = client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"]
    assert {i["patient_id"]: i["error"] for i in panel} == {bad.id: None, good.id: None}
    # The plans are still listed as stored (a clinician can see and correct them).
    plans = client.get(PLANS.format(pid=bad.id), headers=c.headers).json()["items"]
    assert sorted(p["start_date"] for p in plans) == ["0001-01-01", "0001-01-01", "9999-12-25"]
    page = dashboard(browserish, c.email)
    assert bad.id in page and good.id in page
    assert browserish.get(f"/dashboard/patients/{bad.id}", headers=HTML).status_code == 200


def test_a_patient_whose_numbers_fail_is_marked_and_logged_not_a_500(
    client, browserish, make_patient, make_clinician, link, caplog, settle
):
    """A stored value no rule expects (here a time zone the tz database does not know, written
    straight into the database) fails that one patient's state refresh: the worker logs it
    without values and marks them, the panel lists them with an error marker and shows every
    other patient."""
    from sqlalchemy import update
    from sqlmodel import Session

    from app.care.models import Patient
    from app.db import get_engine

    broken, fine, c = make_patient(), make_patient(), make_clinician()
    link(broken, c)
    link(fine, c)
    recent_entries(client, fine, pain=6)
    with Session(get_engine()) as s:
        s.execute(
            update(Patient)
            .where(Patient.id == uuid.UUID(broken.id))
            .values(timezone="Mars/Olympus_Mons")
        )
        s.commit()
    with caplog.at_level(logging.ERROR, logger="kneetrack.state"):
        settle()
        for sort in ("name", "concern"):
            r = client.get(f"/v1/clinicians/me/patients?sort={sort}", headers=c.headers)
            assert r.status_code == 200, r.text
            items = {i["patient_id"]: i for i in r.json()["items"]}
            assert items[broken.id]["error"] == "unavailable"
            assert items[broken.id]["flags"] == [] and items[broken.id]["pain_mean_7d"] is None
            assert items[fine.id]["error"] is None
    logged = [r for r in caplog.records if r.name == "kneetrack.state"]
    assert logged and all(getattr(r, "patient_id", None) == broken.id for r in logged)
    page = dashboard(browserish, c.email)
    row = re.search(rf'<tr[^>]*data-patient-id="{broken.id}".*?</tr>', page, re.S).group(0)
    assert "Numbers unavailable" in row
    assert f'data-patient-id="{fine.id}"' in page


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01&to=0001-01-07",
        "from=9999-12-25&to=9999-12-31",
        "to=0001-01-03",
        "baseline_from=0001-01-01",
        "baseline_to=9999-12-31",
    ],
)
def test_trend_windows_near_year_1_or_9999_are_422(client, make_patient, query):
    """Finding 6: crafted trend windows answered 500."""
    p = make_patient()
    field = query.split("=")[0]
    for path in ("trends/pain", "trends", "trends/exercise-response?activity=cycling&metric=pain"):
        sep = "&" if "?" in path else "?"
        r = client.get(f"/v1/patients/me/{path}{sep}{query}", headers=p.headers)
        if field.startswith("baseline") and path != "trends/pain":
            continue
        assert_problem(r, 422, f"query.{field}")


def test_the_range_edges_are_accepted_and_computed(client, make_patient):
    p = make_patient()
    for query in (
        "from=1900-01-01&to=1900-01-07",
        "from=2100-12-25&to=2100-12-31",
        "from=2100-12-31&to=2100-12-31&bucket=week",
        "from=1900-01-01&to=1900-03-31&bucket=month",
    ):
        r = client.get(f"/v1/patients/me/trends/pain?{query}", headers=p.headers)
        assert r.status_code == 200, (query, r.text)
        r = client.get(f"/v1/patients/me/trends/exercise_minutes?{query}", headers=p.headers)
        assert r.status_code == 200, (query, r.text)
