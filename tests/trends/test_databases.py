"""The same data gives the same numbers on SQLite and PostgreSQL (SPEC §4), and the
per-patient series queries run on the `(patient_id, …)` indexes."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session

from tests.conftest import drop_postgres_database, fresh_postgres_database

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 1)
TOL = 1e-9


def _seed(engine: Any) -> uuid.UUID:
    """One patient, 400 days of irregular data, sessions, a plan and KOOS-JR scores."""
    from app.auth.models import User
    from app.care.models import Patient
    from app.diary.models import ExercisePlan, ExerciseSession, SymptomEntry
    from app.questionnaires.models import QuestionnaireResponse

    pid = uuid.UUID("6a0c2f56-3b1e-4c55-8f7e-2d9b1f3a4c01")
    methods = [None, "goniometer", "inclinometer", "smartphone_app", "self_estimate"]
    with Session(engine) as s:
        s.add(User(id=pid, email="same@example.org", password_hash="x", role="patient",
                   display_name="Same"))
        s.flush()
        s.add(Patient(id=pid, timezone="Europe/Madrid"))
        s.flush()
        for i in range(400):
            d = TODAY - dt.timedelta(days=i)
            if i % 7 == 3:
                continue  # gaps
            s.add(SymptomEntry(
                patient_id=pid, entry_date=d, recorded_at=NOW,
                left_pain=(i * 7) % 11 if i % 5 else None, right_pain=(i * 3) % 11,
                left_stiffness=i % 10, right_stiffness=(i * 5) % 10 if i % 4 else None,
                left_swelling=(i // 3) % 4, right_swelling=i % 2, right_warmth=i % 9 == 0,
                left_flexion=80 + (i * 13) % 60, right_flexion=90 + (i * 11) % 50,
                left_extension=(i * 3) % 15 - 5, right_extension=i % 9,
                left_rom_method=methods[i % 5], right_rom_method=methods[(i + 2) % 5],
                morning_stiffness_minutes=(i * 17) % 90))
            if i % 3 == 0:
                s.add(ExerciseSession(
                    patient_id=pid, id=uuid.UUID(int=i + 1), activity="backward_walking"
                    if i % 2 else "cycling", started_at=NOW - dt.timedelta(days=i),
                    utc_offset_minutes=60, local_date=d, duration_minutes=5 + (i * 7) % 30,
                    falls=1 if i == 30 else 0, near_falls=1 if i == 9 else 0))
        for k, score in enumerate([40.0, 47.3, 52.1, 61.7, 58.2, 66.6]):
            s.add(QuestionnaireResponse(patient_id=pid, instrument="koos_jr",
                                        completed_on=TODAY - dt.timedelta(days=300 - 55 * k),
                                        answers={}, score=score))
        s.add(ExercisePlan(id=uuid.UUID(int=7), patient_id=pid, activity="backward_walking",
                           minutes_per_session=15, sessions_per_week=3,
                           start_date=TODAY - dt.timedelta(days=100)))
        s.commit()
    return pid


def _responses(engine: Any, pid: uuid.UUID) -> dict[str, Any]:
    from app.care.models import Patient
    from app.trends import effect, flag_review, measure, overview
    from app.trends.metrics import METRICS
    from app.trends.models import PatientState
    from app.trends.state_worker import rebuild

    assert rebuild(engine, NOW, [pid]) == 1  # the stored flag state, from the rows
    out: dict[str, Any] = {}
    with Session(engine) as s:
        patient = s.get_one(Patient, pid)
        for metric in METRICS:
            for knee in ("left", "right", "worse"):
                for bucket in ("day", "week", "month"):
                    res = measure.metric_trend(
                        s, patient, NOW, metric=metric, knee=knee, bucket=bucket,
                        date_from=TODAY - dt.timedelta(days=399), date_to=None,
                        baseline="auto", baseline_from=None, baseline_to=None)
                    out[f"{metric}/{knee}/{bucket}"] = res.model_dump(mode="json")
        out["overview"] = overview.overview(s, patient, NOW, knee="worse", date_from=None,
                                           date_to=None).model_dump(mode="json")
        out["flags"] = flag_review.list_flags(s, patient).model_dump(mode="json")
        for metric in ("pain", "flexion", "morning_stiffness"):
            out[f"response/{metric}"] = effect.exercise_response(
                s, patient, NOW, activity="backward_walking", metric=metric, knee="worse",
                lag_days=1, date_from=TODAY - dt.timedelta(days=399), date_to=None,
            ).model_dump(mode="json")
        state = s.get_one(PatientState, pid).model_dump(exclude={"updated_at"})
        out["panel"] = json.loads(json.dumps(state, default=str))
    return _without_ids(out)


def _without_ids(value: Any) -> Any:
    """Episode ids are random (uuid4) on each database: everything else must agree."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def _compare(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [e for k in a for e in _compare(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} != {len(b)} items"]
        return [e for i, (x, y) in enumerate(zip(a, b, strict=True))
                for e in _compare(x, y, f"{path}[{i}]")]
    if isinstance(a, float) or isinstance(b, float):
        ok = a is not None and b is not None and abs(float(a) - float(b)) <= TOL
        return [] if ok else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_same_numbers_on_sqlite_and_postgresql(tmp_path):
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    from app.db import build_engine
    from app.migrate import upgrade_to_head

    name = f"kneetrack_same_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    urls = {"sqlite": f"sqlite:///{tmp_path / 'same.db'}",
            "postgresql": fresh_postgres_database(name)}
    results = {}
    try:
        for backend, url in urls.items():
            upgrade_to_head(url)
            engine = build_engine(url)
            try:
                results[backend] = _responses(engine, _seed(engine))
            finally:
                engine.dispose()
    finally:
        drop_postgres_database(name)
    a, b = results["sqlite"], results["postgresql"]
    assert len(a) > 80
    assert a["overview"]["metrics"]["pain"]["n"] > 60  # the data really were read
    assert any(f["rule"] == "fall" for f in a["flags"]["items"])
    assert _compare(a, b) == []


def test_series_queries_use_the_patient_index(client, backend, engine):
    """EXPLAIN of the per-patient series queries among 60 patients' 2-year histories: the
    plan reaches the rows through an index whose condition is on patient_id, never by a
    sequential scan of every patient's rows."""
    if backend != "postgresql":
        pytest.skip("plans are checked on PostgreSQL")
    from app.trends import queries as q
    from app.trends.metrics import METRICS

    ids = [uuid.uuid4() for _ in range(60)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, password_hash, role, display_name, "
                          "created_at, updated_at) VALUES (:id, :email, 'x', 'patient', 'P', "
                          "now(), now())"),
                     [{"id": i, "email": f"{i}@plan.example"} for i in ids])
        conn.execute(text("INSERT INTO patients (id, timezone, created_at, updated_at) "
                          "VALUES (:id, 'UTC', now(), now())"), [{"id": i} for i in ids])
        rows = [{"id": uuid.uuid4(), "pid": pid, "d": TODAY - dt.timedelta(days=k), "p": k % 11}
                for pid in ids for k in range(730)]
        conn.execute(text("INSERT INTO symptom_entries (id, patient_id, entry_date, version, "
                          "left_pain, recorded_at, created_at, updated_at) VALUES (:id, :pid, "
                          ":d, 1, :p, now(), now(), now())"), rows)
        conn.execute(text("INSERT INTO exercise_sessions (patient_id, id, version, activity, "
                          "started_at, utc_offset_minutes, local_date, duration_minutes, "
                          "created_at, updated_at) VALUES (:pid, :id, 1, 'cycling', now(), 0, "
                          ":d, 20, now(), now())"), rows[::2])
        conn.execute(text("ANALYZE symptom_entries"))
        conn.execute(text("ANALYZE exercise_sessions"))
    window = q.Window([ids[17]], TODAY - dt.timedelta(days=729), TODAY)
    from sqlalchemy import select
    from sqlmodel import col

    from app.diary.models import ExerciseSession, SymptomEntry

    series = (select(col(SymptomEntry.entry_date), *q.symptom_columns([METRICS["pain"]],
                                                                       ["worse"]))
              .where(q._entry_windows([window]), col(SymptomEntry.deleted_at).is_(None)))
    exercise = (select(col(ExerciseSession.local_date))
                .where(col(ExerciseSession.patient_id) == ids[17],
                       col(ExerciseSession.local_date) >= window.start))
    trend = q._series_statement("pain", "worse").params(
        pid=ids[17], start=window.start, end=window.end
    )
    for stmt, table in ((series, "symptom_entries"), (trend, "symptom_entries"),
                        (exercise, "exercise_sessions")):
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
        nodes = list(_nodes(plan[0]["Plan"]))
        scans = [n for n in nodes if n.get("Relation Name") == table or
                 n.get("Node Type") == "Bitmap Index Scan"]
        assert not any(n["Node Type"] == "Seq Scan" for n in scans), nodes
        conds = " ".join(n.get("Index Cond", "") for n in nodes)
        names = {n.get("Index Name") for n in nodes}
        assert "patient_id" in conds, nodes
        assert names & {"uq_symptom_entries_patient_id_entry_date", "ix_symptom_entries_patient_id",
                        "ix_exercise_sessions_patient_local_date", "pk_exercise_sessions"}, names


def _nodes(node: dict[str, Any]):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
