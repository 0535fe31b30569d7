from __future__ import annotations

import csv
import io

from tests.helpers import assert_problem


def _csv(client, account, query: str):
    r = client.get(f"/v1/patients/me/export.csv{query}", headers=account.headers)
    assert r.status_code == 200, r.text
    return r, list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))


def test_symptoms_one_row_per_day_and_knee(client, history):
    r, rows = _csv(client, history, "?kind=symptoms")
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="kneetrack-symptoms.csv"'
    assert r.content.endswith(b"\r\n")
    header, *data = rows
    assert header[:3] == ["date", "knee", "pain"]
    assert [(d[0], d[1]) for d in data] == [("2026-01-05", "left"), ("2026-01-05", "right"),
                                           ("2026-01-06", "left"), ("2026-01-07", "right")]
    first = dict(zip(header, data[0], strict=True))
    assert first["pain"] == "6" and first["swelling"] == "2" and first["warmth"] == "true"
    # A negative number stays a number (a spreadsheet reads -5 as a value, not a formula).
    assert first["extension_degrees"] == "-5"
    assert first["rom_method"] == "goniometer" and first["morning_stiffness_minutes"] == "25"
    assert first["recorded_at"].startswith("2026-") and "T" in first["recorded_at"]
    right = dict(zip(header, data[1], strict=True))
    assert right["pain"] == "2" and right["stiffness"] == "" and right["flare"] == "true"


def test_text_that_a_spreadsheet_would_run_is_neutralised(client, history):
    _, rows = _csv(client, history, "?kind=symptoms")
    header, *data = rows
    notes = [dict(zip(header, d, strict=True))["notes"] for d in data]
    assert notes[0] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert notes[2] == "'-2 better today"
    assert notes[3] == "'@SUM(A1:A2)"
    for n in notes:
        assert not n.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_neutralise_covers_every_trigger():
    from app.exports.csv import cell

    for bad in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert cell(bad) == "'" + bad
    assert cell("fine") == "fine"
    assert cell(-5) == -5 and cell(-2.5) == -2.5 and cell(True) == "true"


def test_exercise_one_row_per_session(client, history):
    r, rows = _csv(client, history, "?kind=exercise&from=2026-01-01&to=2026-01-31")
    assert r.headers["content-disposition"] == (
        'attachment; filename="kneetrack-exercise-2026-01-01_2026-01-31.csv"')
    header, *data = rows
    got = [dict(zip(header, d, strict=True)) for d in data]
    assert [(g["date"], g["activity"]) for g in got] == [("2026-01-05", "backward_walking"),
                                                          ("2026-01-07", "cycling")]
    walk = got[0]
    assert walk["started_at"] == "2026-01-05T10:00:00+01:00"
    assert walk["duration_minutes"] == "20" and walk["falls"] == "1"
    assert walk["near_falls"] == "2" and walk["rpe"] == "3.5" and walk["distance_m"] == "450.0"
    assert walk["exercises"] == "retro walk 3x20"
    assert walk["notes"] == "'+ slow, with rail"


def test_date_filters_and_invalid_queries(client, history):
    _, rows = _csv(client, history, "?kind=symptoms&from=2026-01-06&to=2026-01-06")
    assert [r[0] for r in rows[1:]] == ["2026-01-06"]
    _, rows = _csv(client, history, "?kind=exercise&from=2027-01-01")
    assert len(rows) == 1  # the header alone
    h = history.headers
    assert_problem(client.get("/v1/patients/me/export.csv?kind=pain", headers=h), 422, "kind")
    assert_problem(client.get("/v1/patients/me/export.csv", headers=h), 422, "kind")
    assert_problem(client.get("/v1/patients/me/export.csv?kind=symptoms&from=2026-02-01"
                              "&to=2026-01-01", headers=h), 422, "from")


def test_response_is_streamed(client, history):
    with client.stream("GET", "/v1/patients/me/export.csv?kind=symptoms",
                       headers=history.headers) as r:
        assert r.status_code == 200
        # No Content-Length: the body is sent in chunks as rows are read.
        assert "content-length" not in r.headers
        assert b"".join(r.iter_bytes()).startswith(b"date,knee,")


def test_an_export_in_progress_does_not_hold_up_writers(client, history, backend):
    import uuid

    from sqlalchemy import update
    from sqlalchemy.pool import NullPool

    from app.db import build_engine, get_engine
    from app.diary.models import SymptomEntry
    from app.exports import queries

    pid = uuid.UUID(history.id)
    # On SQLite a connection of its own (not the app's pool), so that its short busy timeout
    # dies with it.
    sqlite = backend == "sqlite"
    url = get_engine().url.render_as_string(hide_password=False)
    own = build_engine(url, poolclass=NullPool) if sqlite else get_engine()
    try:
        with queries.read_connection() as reader:
            rows = queries.stream(reader, queries.symptom_entries(pid, None, None))
            assert next(rows).entry_date.isoformat() == "2026-01-05"  # the export is mid-way
            with own.connect() as writer:
                if sqlite:  # fail fast instead of waiting out the busy timeout
                    writer.exec_driver_sql("PRAGMA busy_timeout=200")
                writer.execute(update(SymptomEntry).where(SymptomEntry.patient_id == pid,
                                                          SymptomEntry.notes.is_(None))
                               .values(notes="written meanwhile"))
                writer.commit()
            assert len(list(rows)) == 2
    finally:
        if sqlite:
            own.dispose()
