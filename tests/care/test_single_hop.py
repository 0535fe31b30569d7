"""The single-hop PUT (app/care/single_hop.py) against the general path: the same requests
from two patients, one served by each path at the same pinned instant, must give the same
answers byte for byte and leave the same rows: the record, its revisions, its change-feed rows,
the flag-state queue and the audit record. Refusals and errors are deferred to the general
path, which answers them; the `kneetrack_single_hop_puts_total` counter tells which path ran."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import Uuid, bindparam, text

from tests.helpers import entry

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
URL = "/v1/patients/{pid}/symptom-entries/{day}"
ROUTE = "/v1/patients/{pid}/symptom-entries/{entry_date}"
WEIRD_NOTES = 'she said "stairs" \\ then \u0001\u001f\t\n and \u2028 \U0001f9b5 \ud7ff'


def _counts(client: Any, route: str = ROUTE) -> dict[str, float]:
    metrics = client.get(
        "/metrics", headers={"Authorization": "Bearer kneetrack-test-metrics-token"}
    ).text
    found = {"served": 0.0, "deferred": 0.0}
    for outcome in found:
        labels = f'outcome="{outcome}",route="{re.escape(route)}"'
        pattern = r"^kneetrack_single_hop_puts_total\{" + labels + r"\} (\S+)$"
        m = re.search(pattern, metrics, re.M)
        found[outcome] = float(m.group(1)) if m else 0.0
    return found


def _steps(pid: str) -> list[tuple[str, str, dict[str, str], Any]]:
    """(method, url, extra headers, body) — every outcome of a PUT, refusals included."""
    a, b = URL.format(pid=pid, day="2026-03-01"), URL.format(pid=pid, day="2026-02-27")
    full = entry(6)
    full["notes"] = WEIRD_NOTES
    full["analgesics"] = {"doses": 2, "kinds": ["paracetamol", "nsaid_oral"]}
    no_analgesics = entry(3)
    return [
        ("PUT", a, {}, full),  # created
        ("PUT", a, {}, full),  # unchanged
        ("PUT", a, {"If-Match": '"1"'}, no_analgesics),  # updated, on condition
        ("PUT", a, {"If-Match": '"1"'}, full),  # stale condition: 412
        ("PUT", a, {"If-None-Match": "*"}, full),  # exists: 412
        ("DELETE", a, {}, None),
        ("PUT", a, {}, full),  # a tombstone written again: created, version 4
        ("PUT", b, {"If-None-Match": "*"}, {**entry(2), "recorded_at": "2026-02-27T23:10+05:00"}),
        ("PUT", URL.format(pid=pid, day="2026-03-04"), {}, entry(1)),  # after today: 422
        ("PUT", b, {}, {**entry(2), "flare": "maybe"}),  # invalid body: 422
        ("PUT", b, {"Content-Type": "text/plain"}, entry(2)),  # not JSON: 422
    ]


def _run(client: Any, patient: Any, pid: str) -> list[tuple[int, str | None, bytes]]:
    answers = []
    for method, url, headers, body in _steps(pid):
        h = {**patient.headers, **headers}
        if body is not None and "Content-Type" in headers:
            import json

            r = client.request(method, url, headers=h, content=json.dumps(body))
        else:
            r = client.request(method, url, headers=h, json=body)
        answers.append((r.status_code, r.headers.get("etag"), r.content))
    return answers


_P = bindparam("p", type_=Uuid())


def _stored(engine: Any, patient_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the writes left for the patient, without ids and the actual instant of the
    audit row (the only columns that may differ between two patients' identical requests)."""
    pid = uuid.UUID(patient_id)
    queries = {
        "entries": "SELECT * FROM symptom_entries WHERE patient_id = :p ORDER BY entry_date",
        "revisions": "SELECT * FROM revisions WHERE patient_id = :p ORDER BY record_key, version",
        "changes": "SELECT * FROM changes WHERE patient_id = :p ORDER BY seq",
        "state": "SELECT * FROM state_queue WHERE patient_id = :p",
        "audit": "SELECT * FROM audit_events WHERE patient_id = :p ORDER BY id",
    }
    skip = {"id", "seq", "patient_id", "superseded_by", "actor_id", "at", "request_id"}
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name, sql in queries.items():
            result = conn.execute(text(sql).bindparams(_P), {"p": pid})
            names = result.keys()
            keys = [k for k in names if k not in skip]
            found[name] = [tuple((k, row._mapping[k]) for k in keys) for row in result]
        # JSON stored as the same text, not only the same value.
        found["json_text"] = [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT CAST(analgesic_kinds AS TEXT) FROM symptom_entries "
                    "WHERE patient_id = :p "
                    "UNION ALL SELECT CAST(data AS TEXT) FROM changes WHERE patient_id = :p "
                    "UNION ALL SELECT CAST(payload AS TEXT) FROM revisions WHERE patient_id = :p"
                ).bindparams(_P),
                {"p": pid},
            )
        ]
    return found


def _general_path_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "single_hop_writes", False)


def test_both_paths_answer_and_store_the_same(
    client, make_patient, engine, backend, pinned_now, monkeypatch
):
    fast, general = make_patient(tz="UTC"), make_patient(tz="UTC")
    pinned_now(NOW)  # after signing in: a token issued at the pinned instant has expired
    before = _counts(client)
    fast_answers = _run(client, fast, "me")
    middle = _counts(client)
    with monkeypatch.context() as m:
        _general_path_only(m)
        general_answers = _run(client, general, "me")
    after = _counts(client)

    assert [a[0] for a in fast_answers] == [201, 200, 200, 412, 412, 204, 201, 201, 422, 422, 422]
    assert fast_answers == general_answers
    fast_rows, general_rows = _stored(engine, fast.id), _stored(engine, general.id)
    assert fast_rows == general_rows
    assert len(fast_rows["revisions"]) == 2 and len(fast_rows["changes"]) == 5
    assert len(fast_rows["audit"]) == 11
    assert after == middle  # switched off: every PUT took the general path, uncounted
    if backend == "postgresql":
        # Created, unchanged, updated, created again, created: served; the five refusals and
        # errors deferred to the general path, which answered them.
        assert middle["served"] - before["served"] == 5
        assert middle["deferred"] - before["deferred"] == 5
    else:
        assert middle == before  # SQLite: the general path only


def test_someone_elses_record_is_deferred_and_refused(client, make_patient, make_clinician, link):
    patient, other = make_patient(), make_patient()
    clinician = make_clinician()
    link(patient, clinician)
    day = URL.format(pid=patient.id, day="2026-01-05")
    assert client.put(day, headers=other.headers, json=entry()).status_code == 404
    assert client.put(day, headers=clinician.headers, json=entry()).status_code == 403
    mine = client.put(URL.format(pid=patient.id, day="2026-01-05"), headers=patient.headers,
                      json=entry())
    assert mine.status_code == 201
    audit = client.get(f"/v1/patients/{patient.id}/access-log", headers=patient.headers)
    outcomes = sorted((e["actor_role"], e["outcome"]) for e in audit.json()["items"]
                      if e["action"] == "write")
    assert outcomes == [("clinician", "denied"), ("patient", "allowed"), ("patient", "denied")]


def test_signed_out_token_is_refused(client, make_patient):
    p = make_patient()
    day = URL.format(pid="me", day="2026-01-05")
    assert client.put(day, headers=p.headers, json=entry()).status_code == 201
    assert client.post("/v1/auth/logout", headers=p.headers).status_code == 204
    assert client.put(day, headers=p.headers, json=entry(4)).status_code == 401


def test_api_key_takes_the_general_path(client, make_patient):
    p = make_patient()
    r = client.post("/v1/api-keys", headers=p.headers, json={"name": "app", "scopes": ["write"]})
    assert r.status_code == 201, r.text
    key = {"X-API-Key": r.json()["key"]}
    day = URL.format(pid="me", day="2026-01-05")
    assert client.put(day, headers=key, json=entry()).status_code == 201
    both = {**key, **p.headers}
    assert client.put(day, headers=both, json=entry(3)).status_code == 401


def test_rate_limit_counts_each_put_once(client, make_patient, app):
    from app.ratelimit import RateLimits, build_storage, get_rate_limits

    p = make_patient()
    limits = RateLimits(build_storage(None, "single-hop"), {"principal": "3/minute"})
    app.dependency_overrides[get_rate_limits] = lambda: limits
    try:
        days = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
        answers = [
            client.put(URL.format(pid="me", day=d), headers=p.headers, json=entry())
            for d in days
        ]
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].headers["content-type"] == "application/problem+json"
    # Nothing was written by the refused one.
    got = client.get(URL.format(pid="me", day="2026-01-04"), headers=p.headers)
    assert got.status_code == 404


def test_two_round_trips_on_postgresql(client, make_patient, engine, backend, tmp_path):
    """libpq's own trace of the connection: the first pipeline carries BEGIN, the caller with
    the patient's lock and the entry; the second the writes, joined into two statements (each
    within what psycopg caches), and COMMIT. One Sync each."""
    if backend != "postgresql":
        pytest.skip("the single-hop path is PostgreSQL's")
    from psycopg import pq
    from sqlalchemy import event

    p = make_patient()
    trace = (tmp_path / "libpq.trace").open("w")
    traced: list[Any] = []

    def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.pgconn.trace(trace.fileno())
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        traced.append(dbapi_conn.pgconn)

    event.listen(engine, "checkout", on_checkout)
    try:
        r = client.put(URL.format(pid="me", day="2026-01-05"), headers=p.headers, json=entry())
    finally:
        event.remove(engine, "checkout", on_checkout)
        # Before the file closes: a pooled connection left tracing would write into whatever
        # the descriptor's number is given to next (a socket, a pipe).
        for pgconn in traced:
            pgconn.untrace()
        trace.close()
    assert r.status_code == 201, r.text
    sent = [
        line.split("\t")[2] + (" " + line.split('"')[3].split()[0] if "\tParse\t" in line else "")
        for line in (tmp_path / "libpq.trace").read_text().splitlines()
        if line.startswith("F\t") and ("\tParse\t" in line or "\tSync" in line)
    ]
    assert sent == [
        "Parse BEGIN", "Parse SELECT", "Parse SELECT", "Sync",
        "Parse WITH", "Parse INSERT", "Parse COMMIT", "Sync",
    ], sent


SESSION_URL = "/v1/patients/me/exercise-sessions/{sid}"
SESSION_ROUTE = "/v1/patients/{pid}/exercise-sessions/{session_id}"


def _session_steps(ids: list[str]) -> list[tuple[str, str, dict[str, str], Any]]:
    a, b, c = (SESSION_URL.format(sid=i) for i in ids)
    walk = {
        "activity": "backward_walking", "started_at": "2026-03-01T10:00:00+01:00",
        "duration_minutes": 15, "distance_m": 400, "rpe": 6.5, "setting": "indoor",
        "supervised": True, "notes": WEIRD_NOTES,
        "exercises": [{"name": "retro walk", "sets": 3}, {"name": "heel raise", "reps": 12}],
    }
    odd_floats = {**walk, "distance_m": 0.0001, "rpe": 1e-07}
    return [
        ("PUT", a, {}, walk),  # created
        ("PUT", a, {}, walk),  # unchanged
        ("PUT", a, {"If-Match": '"1"'}, odd_floats),  # updated
        ("PUT", a, {"If-Match": '"1"'}, walk),  # stale: 412
        ("DELETE", a, {}, None),
        ("PUT", a, {}, {**walk, "distance_m": 99999.99}),  # a tombstone written again
        ("PUT", b, {}, {**walk, "plan_id": str(uuid.uuid4())}),  # no such plan: 422
        ("PUT", b, {}, {**walk, "started_at": "2026-03-03T10:00:00Z"}),  # future: 422
        ("PUT", c, {"If-None-Match": "*"}, {**walk, "started_at": "2026-02-28T23:30:00-05:00"}),
    ]


def _session_answers(client: Any, patient: Any, ids: list[str]) -> list[tuple[int, Any, bytes]]:
    answers = []
    for method, url, headers, body in _session_steps(ids):
        r = client.request(method, url, headers={**patient.headers, **headers}, json=body)
        content = r.content
        for n, sid in enumerate(ids):  # ids differ between the two patients: name them alike
            content = content.replace(sid.encode(), f"<session {n}>".encode())
        answers.append((r.status_code, r.headers.get("etag"), content))
    return answers


def _session_rows(engine: Any, patient_id: str, ids: list[str]) -> dict[str, Any]:
    found = _stored(engine, patient_id)
    del found["entries"]
    with engine.connect() as conn:
        result = conn.execute(
            text("SELECT * FROM exercise_sessions WHERE patient_id = :p ORDER BY started_at")
            .bindparams(_P), {"p": uuid.UUID(patient_id)}
        )
        names = result.keys()
        found["sessions"] = [
            tuple((k, row._mapping[k]) for k in names if k not in ("id", "patient_id"))
            for row in result
        ]
    text_form = repr(found)
    for n, sid in enumerate(ids):
        text_form = text_form.replace(sid, f"<session {n}>")
    return {"rows": text_form}


def test_sessions_both_paths_answer_and_store_the_same(
    client, make_patient, engine, backend, pinned_now, monkeypatch
):
    fast, general = make_patient(tz="UTC"), make_patient(tz="UTC")
    pinned_now(NOW)
    fast_ids = [str(uuid.uuid4()) for _ in range(3)]
    general_ids = [str(uuid.uuid4()) for _ in range(3)]
    before = _counts(client, SESSION_ROUTE)
    fast_answers = _session_answers(client, fast, fast_ids)
    middle = _counts(client, SESSION_ROUTE)
    with monkeypatch.context() as m:
        _general_path_only(m)
        general_answers = _session_answers(client, general, general_ids)

    assert [a[0] for a in fast_answers] == [201, 200, 200, 412, 204, 201, 422, 422, 201]
    assert fast_answers == general_answers
    assert b'"rpe":1e-7' in fast_answers[2][2]  # as pydantic-core writes it, and orjson
    if backend == "postgresql":
        # Created, unchanged, updated, created again, created: served; the stale condition,
        # the plan (the general path checks it) and the future start deferred.
        assert middle["served"] - before["served"] == 5
        assert middle["deferred"] - before["deferred"] == 3
    else:
        assert middle == before  # as pydantic-core writes it, and orjson
    assert _session_rows(engine, fast.id, fast_ids) == _session_rows(
        engine, general.id, general_ids
    )


def test_round_trip_two_statements_stay_within_psycopgs_cache():
    """Every statement of round trip 2, for each kind and shape (new, or replacing a version
    with a revision), keeps within the parameters and length psycopg keeps converted; past
    them it reads the text again on every PUT. Each part is written once, in order."""
    from psycopg import _queries

    from app.care import single_hop as sh
    from app.diary.entries import ENTRY_PUT
    from app.diary.sessions import SESSION_PUT
    from app.sql import joined_statements

    for spec in (ENTRY_PUT, SESSION_PUT):
        _select, insert_row, update_row = spec.statements
        tables = {"v": spec.table, "r": sh._REVISIONS, "c": sh._CHANGES, "s": sh._STATE}
        texts = {"r": sh._REVISION_SQL, "c": sh._CHANGE_SQL, "s": sh._STATE_SQL}
        for version, extra in ((insert_row, ""), (update_row, "r")):
            names = ["v", *extra, "c", "s"]
            parts = [
                (n, version if n == "v" else texts[n], {f"{n}_{c}": c for c in tables[n].columns})
                for n in names
            ]
            parts.append(("a", sh._AUDIT_SQL, {f"a_{c}": c for c in sh._AUDIT.columns}))
            joined = joined_statements(parts)
            assert 1 <= len(joined) < len(parts)
            for sql_text, params in joined:
                assert len(params) <= _queries.MAX_CACHED_STATEMENT_PARAMS
                assert len(sql_text) <= _queries.MAX_CACHED_STATEMENT_LENGTH
                placeholders = re.findall(r"%\((\w+)\)s", sql_text)
                assert sorted(placeholders) == sorted(set(placeholders))
                assert set(placeholders) <= set(params)
            merged = [p for _, params in joined for p in params]
            assert merged == [p for *_, params in parts for p in params]
