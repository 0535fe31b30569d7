"""The stored flag state kept up to date incrementally equals a rebuild from the rows
(SPEC v2 §5), on both databases: Hypothesis makes sequences of diary writes, edits and
deletions, session writes, moves and deletions, sync batches, plans, reviews and days passing,
all over HTTP; after each, the state worker's pass runs (`settle`, from the queued date only);
at the end `rebuild` recomputes the patient from the beginning of their record, and the
episodes (ids, statuses and reviews included) and the panel's numbers must not change."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import Session

from tests.trends.conftest import NOW

DAYS_BACK = 90
# Mostly the last weeks (writes meet the episodes they touch), sometimes months back (an edit
# far behind the stored episodes, which must be kept as they are).
offsets = st.one_of(st.integers(-21, 0), st.integers(-DAYS_BACK, -60))
knee = st.fixed_dictionaries(
    {"pain": st.integers(0, 10)},
    optional={
        "swelling": st.integers(0, 3),
        "warmth": st.booleans(),
        "giving_way": st.booleans(),
        "flexion_degrees": st.sampled_from([100, 110, 125]),
        "rom_method": st.just("goniometer"),
    },
)
entry = st.fixed_dictionaries(
    {"knees": st.fixed_dictionaries({"left": knee})},
    optional={
        "flare": st.booleans(),
        "falls": st.integers(0, 1),
        "morning_stiffness_minutes": st.sampled_from([10, 45]),
    },
)
session = st.fixed_dictionaries(
    {"activity": st.sampled_from(["backward_walking", "cycling"]),
     "duration_minutes": st.sampled_from([10, 15])},
    optional={
        "falls": st.integers(0, 1),
        "near_falls": st.integers(0, 2),
        "supervised": st.booleans(),
        "setting": st.sampled_from(["indoor", "outdoor"]),
        "pain_before": st.integers(0, 10),
        "pain_after": st.integers(0, 10),
    },
)
operation = st.one_of(
    st.tuples(st.just("put"), offsets, entry),
    st.tuples(st.just("put_many"), st.lists(st.tuples(offsets, entry), min_size=1, max_size=8)),
    st.tuples(st.just("delete"), offsets),
    st.tuples(st.just("session"), offsets, session),
    st.tuples(st.just("move_session"), st.integers(0, 5), offsets),
    st.tuples(st.just("delete_session"), st.integers(0, 5)),
    st.tuples(st.just("sync"), st.lists(st.tuples(offsets, entry), min_size=1, max_size=4),
              st.lists(st.tuples(offsets, session), max_size=2), st.lists(offsets, max_size=2)),
    st.tuples(st.just("plan"), offsets, st.sampled_from(["backward_walking", "cycling"])),
    st.tuples(st.just("review"), st.integers(0, 5)),
    st.tuples(st.just("tick"), st.integers(1, 3)),
)


def snapshot(engine: Any, pid: uuid.UUID) -> tuple[list[Any], dict[str, Any]]:
    from app.trends.models import FlagEpisode, PatientState

    with Session(engine) as s:
        episodes = s.scalars(select(FlagEpisode).where(FlagEpisode.patient_id == pid)).all()
        state = s.get(PatientState, pid)
        rows = sorted((e.model_dump() for e in episodes),
                      key=lambda e: (e["rule"], e["key"], e["first_date"]))
        numbers = state.model_dump(exclude={"updated_at"}) if state else {}
    return rows, numbers


class Story:
    """One patient's sequence of operations over HTTP, on a clock that moves forward."""

    def __init__(self, client: Any, patient: Any, clinician: Any, pin: Any) -> None:
        self.client, self.p, self.c, self.pin = client, patient, clinician, pin
        self.now = NOW
        self.sessions: list[str] = []

    def day(self, offset: int) -> dt.date:
        return self.now.date() + dt.timedelta(days=offset)

    def started(self, offset: int) -> str:
        return dt.datetime.combine(self.day(offset), dt.time(10), tzinfo=dt.UTC).isoformat()

    def check(self, r: Any, *ok: int) -> Any:
        assert r.status_code in ok, r.text
        return r

    def run(self, op: tuple[Any, ...]) -> None:
        getattr(self, f"op_{op[0]}")(*op[1:])

    def op_put(self, offset: int, body: dict[str, Any]) -> None:
        url = f"/v1/patients/me/symptom-entries/{self.day(offset)}"
        self.check(self.client.put(url, headers=self.p.headers, json=body), 200, 201)

    def op_put_many(self, items: list[tuple[int, dict[str, Any]]]) -> None:
        for offset, body in items:
            self.op_put(offset, body)

    def op_delete(self, offset: int) -> None:
        url = f"/v1/patients/me/symptom-entries/{self.day(offset)}"
        self.check(self.client.delete(url, headers=self.p.headers), 204, 404)

    def op_session(self, offset: int, body: dict[str, Any]) -> None:
        r = self.check(self.client.post("/v1/patients/me/exercise-sessions", headers=self.p.headers,
                                        json=body | {"started_at": self.started(offset)}), 201)
        self.sessions.append(r.json()["id"])

    def op_move_session(self, index: int, offset: int) -> None:
        if not self.sessions:
            return
        sid = self.sessions[index % len(self.sessions)]
        url = f"/v1/patients/me/exercise-sessions/{sid}"
        current = self.client.get(url, headers=self.p.headers)
        if current.status_code == 404:
            return
        keep = {k: v for k, v in current.json().items() if k in (
            "activity", "duration_minutes", "falls", "near_falls", "supervised", "setting",
            "pain_before", "pain_after") and v is not None}
        body = keep | {"started_at": self.started(offset)}
        self.check(self.client.put(url, headers=self.p.headers, json=body), 200)

    def op_delete_session(self, index: int) -> None:
        if self.sessions:
            sid = self.sessions.pop(index % len(self.sessions))
            url = f"/v1/patients/me/exercise-sessions/{sid}"
            self.check(self.client.delete(url, headers=self.p.headers), 204)

    def op_sync(self, entries: list[Any], sessions: list[Any], deletions: list[int]) -> None:
        body = {
            "symptom_entries": [b | {"entry_date": str(self.day(o))} for o, b in entries],
            "exercise_sessions": [b | {"id": str(uuid.uuid4()), "started_at": self.started(o)}
                                  for o, b in sessions],
            "deletions": [{"kind": "symptom_entry", "key": str(self.day(o))} for o in deletions],
        }
        r = self.check(self.client.post("/v1/patients/me/sync", headers=self.p.headers,
                                         json=body), 200)
        self.sessions += [i["key"] for i in r.json()["results"]
                          if i["kind"] == "exercise_session" and i["status"] in (200, 201)]

    def op_plan(self, offset: int, activity: str) -> None:
        body = {"activity": activity, "minutes_per_session": 12, "sessions_per_week": 2,
                "start_date": str(self.day(offset))}
        self.check(self.client.post(f"/v1/patients/{self.p.id}/exercise-plans",
                                    headers=self.c.headers, json=body), 201)

    def op_review(self, index: int) -> None:
        items = self.client.get(f"/v1/patients/{self.p.id}/flags", headers=self.c.headers,
                                params={"status": "open"}).json()["items"]
        if items:
            flag = items[index % len(items)]
            self.check(self.client.post(f"/v1/patients/{self.p.id}/flags/{flag['id']}/review",
                                        headers=self.c.headers, json={"note": "seen"}), 200)

    def op_tick(self, days: int) -> None:
        self.now += dt.timedelta(days=days)
        self.pin(self.now)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=10))
def test_incremental_state_equals_a_rebuild(client, seeded, care_clinician, engine, settle,
                                            pinned_now, ops):
    from app.trends.state_worker import rebuild

    p, s = seeded()
    c = care_clinician(p)
    # A record of quiet weeks to change, written as an import would (and rebuilt).
    s.entries({NOW.date() - dt.timedelta(days=i): {"left_pain": 3, "left_swelling": 0}
               for i in range(1, DAYS_BACK)})
    story = Story(client, p, c, pinned_now)
    pid = uuid.UUID(p.id)
    for op in ops:
        story.run(op)
        settle()
    incremental = snapshot(engine, pid)
    assert rebuild(engine, story.now, [pid]) == 1
    assert snapshot(engine, pid) == incremental, ops
