"""Flag episodes a clinician reviews (SPEC v2 §5): the review route and who may call it, the
statuses and filters, reopening on new triggering data, late entries, and the edges of the
calendar."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlmodel import Session

from tests.helpers import assert_problem, entry
from tests.trends.conftest import day


def flags(client, account, pid="me", **params):
    r = client.get(f"/v1/patients/{pid}/flags", headers=account.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def review(client, account, pid, flag_id, note="Phoned her; no injury, carrying on."):
    return client.post(f"/v1/patients/{pid}/flags/{flag_id}/review", headers=account.headers,
                       json={"note": note})


def test_a_review_marks_the_episode_keeps_every_review_and_is_audited(
        client, seeded, care_clinician, engine):
    from app.audit.models import AuditEvent
    from app.trends.models import FlagReview

    p, s = seeded()
    s.entries({day(-i): {"left_pain": 3} for i in range(5)} | {day(-6): {"falls": 1}})
    c = care_clinician(p)
    body = flags(client, c, p.id)
    assert body["as_of"] == str(day(0)) and body["pending"] is False
    [fall] = body["items"]
    assert (fall["rule"], fall["status"], fall["reviewed_at"]) == ("fall", "open", None)
    r = review(client, c, p.id, fall["id"])
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "reviewed" and done["reviewed_by"] == c.id
    assert done["review_note"] == "Phoned her; no injury, carrying on."
    assert flags(client, c, p.id, status="open")["items"] == []
    assert [f["id"] for f in flags(client, p, status="reviewed")["items"]] == [fall["id"]]
    panel = client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"]
    assert [f["status"] for f in panel[0]["flags"]] == ["reviewed"]
    assert review(client, c, p.id, fall["id"], "Seen again at the clinic.").status_code == 200
    assert flags(client, c, p.id)["items"][0]["review_note"] == "Seen again at the clinic."
    with Session(engine) as session:
        notes = session.scalars(select(FlagReview.note).where(
            FlagReview.episode_id == uuid.UUID(fall["id"])).order_by(FlagReview.reviewed_at)).all()
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.patient_id == uuid.UUID(p.id),
            AuditEvent.resource.contains("/review"))).all()
    assert sorted(notes) == ["Phoned her; no injury, carrying on.", "Seen again at the clinic."]
    assert [(e.action, e.outcome, e.actor_id) for e in events] == [
        ("write", "allowed", uuid.UUID(c.id))] * 2


def test_only_the_care_team_reviews_and_only_its_patients_flags(
        client, seeded, care_clinician):
    p, s = seeded()
    s.entries({day(-1): {"falls": 1}})
    other, t = seeded()
    t.entries({day(-1): {"falls": 1}})
    c = care_clinician(p)
    [mine] = flags(client, p)["items"]
    [theirs] = flags(client, other)["items"]
    assert_problem(review(client, p, "me", mine["id"]), 403)  # the patient: read, not review
    stranger = care_clinician()  # on no one's care team
    assert_problem(review(client, stranger, p.id, mine["id"]), 404)
    assert_problem(review(client, c, p.id, theirs["id"]), 404)  # another patient's episode
    assert_problem(review(client, c, p.id, str(uuid.uuid4())), 404)
    assert_problem(review(client, c, p.id, "not-a-uuid"), 422, "flag_id")
    r = client.post(f"/v1/patients/{p.id}/flags/{mine['id']}/review", headers=c.headers,
                    json={"note": ""})
    assert_problem(r, 422, "note")
    r = client.post(f"/v1/patients/{p.id}/flags/{mine['id']}/review", headers=c.headers,
                    json={"note": "ok", "status": "resolved"})
    assert_problem(r, 422, "status")
    assert flags(client, p)["items"][0]["status"] == "open"


def test_new_triggering_data_reopens_a_reviewed_episode(client, seeded, care_clinician):
    p, s = seeded()
    s.entries({day(-i): {"left_pain": 3} for i in range(8) if i != 2} | {day(-10): {"falls": 1}})
    c = care_clinician(p)
    [fall] = flags(client, c, p.id)["items"]
    assert review(client, c, p.id, fall["id"]).status_code == 200
    s.entries({day(-9): {"falls": 1}})  # the next day: the same episode
    [again] = flags(client, c, p.id)["items"]
    assert again["id"] == fall["id"] and again["status"] == "open"
    assert again["dates"] == [str(day(-10)), str(day(-9))]
    assert again["review_note"] is not None  # the earlier review is kept on it
    assert review(client, c, p.id, fall["id"]).status_code == 200
    s.entries({day(-2): {"left_pain": 3, "falls": 1}})  # a week later: a new episode
    items = flags(client, c, p.id)["items"]
    assert [(f["status"], f["first_date"]) for f in items] == [
        ("open", str(day(-2))), ("reviewed", str(day(-10)))]


def test_statuses_in_time_and_the_filters(client, seeded):
    p, s = seeded()
    old = {day(-30): {"left_pain": 3}, day(-29): {"left_pain": 7, "flare": True}}
    s.entries(old | {day(-i): {"left_pain": 3, "falls": int(i == 25)} for i in range(26)})
    items = flags(client, p)["items"]
    assert [(f["rule"], f["status"]) for f in items] == [
        ("fall", "open"),  # urgent: open until reviewed, 25 days on
        ("pain_episode", "resolved"),  # a warning whose days ended more than 14 days ago
    ]
    assert [f["rule"] for f in flags(client, p, status="resolved")["items"]] == ["pain_episode"]
    both = flags(client, p, status=["open", "resolved"])["items"]
    assert len(both) == 2
    assert [f["rule"] for f in flags(client, p, since=str(day(-24)))["items"]] == []
    assert [f["rule"] for f in flags(client, p, since=str(day(-25)))["items"]] == ["fall"]
    assert_problem(client.get("/v1/patients/me/flags", headers=p.headers,
                              params={"status": "closed"}), 422, "status.0")
    assert_problem(client.get("/v1/patients/me/flags", headers=p.headers,
                              params={"since": "yesterday"}), 422, "since")


def test_a_late_entry_over_the_api_updates_the_episodes_it_touches(client, seeded, settle):
    p, s = seeded()
    s.entries({day(-i): {"left_pain": 3, "left_swelling": 0} for i in range(12) if i != 6})
    assert flags(client, p)["items"] == []
    # Back-filled after a week offline: the warm, swollen knee of six days ago.
    body = entry(3) | {"knees": {"left": {"pain": 3, "swelling": 3, "warmth": True}}}
    r = client.put(f"/v1/patients/me/symptom-entries/{day(-6)}", headers=p.headers, json=body)
    assert r.status_code == 201, r.text
    before = flags(client, p)
    assert before["pending"] is True and before["items"] == []  # not yet taken in
    assert settle() >= 1  # every patient behind in this database, hers among them
    [hot] = flags(client, p)["items"]
    assert (hot["rule"], hot["dates"], hot["status"]) == (
        "hot_swollen_joint", [str(day(-6))], "open")
    r = client.delete(f"/v1/patients/me/symptom-entries/{day(-6)}", headers=p.headers)
    assert r.status_code == 204, r.text
    settle()
    assert flags(client, p)["items"] == []  # the data that made it is gone


def test_plans_at_the_edges_of_the_calendar_never_break_flags_or_the_panel(
        client, seeded, care_clinician):
    p, s = seeded()
    s.entries({day(-i): {"left_pain": 5} for i in range(20)})
    s.plan("backward_walking", dt.date(1, 1, 1))  # stored before dates were bounded
    s.plan("strengthening", day(-60), end=dt.date(9999, 12, 31))
    s.sessions((dt.date(1900, 1, 1), "backward_walking", 15))
    c = care_clinician(p)
    assert client.get(f"/v1/patients/{p.id}/trends", headers=c.headers).status_code == 200
    panel = client.get("/v1/clinicians/me/patients", headers=c.headers, params={
        "sort": "concern"})
    assert panel.status_code == 200, panel.text
    [item] = panel.json()["items"]
    assert item["error"] is None and item["pain_mean_7d"] == 5
    assert flags(client, c, p.id)["as_of"] == str(day(0))


def test_a_database_failure_leaves_the_write_queued(client, seeded, backend, engine):
    """The patient's row held by another transaction past the lock timeout (PostgreSQL): the
    refresh fails as the database's failure, not the patient's — nothing is marked, the queue
    row stays, and the next pass takes the write in."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.records.models import StateQueue
    from app.trends.models import PatientState
    from app.trends.state_worker import refresh_one
    from tests.trends.conftest import NOW

    if backend != "postgresql":
        pytest.skip("row locks and lock timeouts are PostgreSQL's")
    p, s = seeded()
    s.entries({day(-i): {"left_pain": 3} for i in range(3)})
    body = {"knees": {"left": {"pain": 3, "swelling": 3, "warmth": True}}}
    assert client.put(f"/v1/patients/me/symptom-entries/{day(-3)}", headers=p.headers,
                      json=body).status_code == 201
    pid = uuid.UUID(p.id)
    with engine.connect() as holder:
        holder.execute(text("SELECT 1 FROM patients WHERE id = :p FOR UPDATE"), {"p": pid})
        with pytest.raises(DBAPIError):
            refresh_one(engine, pid, NOW)
        holder.rollback()
    with Session(engine) as session:
        assert session.get(StateQueue, pid) is not None
        assert session.get_one(PatientState, pid).error is None
    assert refresh_one(engine, pid, NOW) is True
    assert [f["rule"] for f in flags(client, p)["items"]] == ["hot_swollen_joint"]


def test_reviews_and_refreshes_at_once_lose_nothing(client, seeded, care_clinician, engine):
    """Reviews from the API and the worker's refreshes of the same patient, in threads at
    once: each waits for the patient's lock, so every review is kept on the episode (the last
    one) and in the history, and every write is taken in."""
    import threading

    from app.trends.models import FlagReview
    from app.trends.state_worker import refresh_one
    from tests.trends.conftest import NOW

    p, s = seeded()
    s.entries({day(-i): {"left_pain": 3} for i in range(1, 12)} | {day(-12): {"falls": 1}})
    c = care_clinician(p)
    [fall] = flags(client, c, p.id)["items"]
    pid = uuid.UUID(p.id)
    errors: list[BaseException] = []

    def run(target, *args):
        try:
            target(*args)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def reviews():
        for i in range(5):
            assert review(client, c, p.id, fall["id"], f"review {i}").status_code == 200

    def refreshes():
        for i in range(5):
            body = {"knees": {"left": {"pain": 3 + i % 2}}}
            r = client.put(f"/v1/patients/me/symptom-entries/{day(0)}", headers=p.headers,
                           json=body)
            assert r.status_code in (200, 201), r.text
            refresh_one(engine, pid, NOW)

    threads = [threading.Thread(target=run, args=(f,)) for f in (reviews, refreshes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    refresh_one(engine, pid, NOW)
    [after] = flags(client, c, p.id)["items"]
    assert after["id"] == fall["id"] and after["status"] == "reviewed"
    assert after["review_note"] == "review 4"
    with Session(engine) as session:
        kept = session.scalars(select(FlagReview.note).where(FlagReview.patient_id == pid)).all()
    assert sorted(kept) == [f"review {i}" for i in range(5)]
