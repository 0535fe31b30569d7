"""SPEC §3: timestamps are stored as UTC instants — every date-time column of every table is
the UTC instant type, and a value sent with an offset is stored as the same instant in UTC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, text
from sqlmodel import SQLModel

import app.models  # noqa: F401 - every table in the metadata
from app.db import UTCDateTime
from tests.helpers import entry


def test_every_datetime_column_is_a_utc_instant():
    loose = [f"{t.name}.{c.name}" for t in SQLModel.metadata.sorted_tables for c in t.c
             if isinstance(c.type, DateTime)]  # a plain DateTime, not the UTC TypeDecorator
    assert loose == []
    instants = [c for t in SQLModel.metadata.sorted_tables for c in t.c
                if isinstance(c.type, UTCDateTime)]
    assert len(instants) >= 10


def test_an_offset_is_stored_as_the_utc_instant(client, make_patient, engine):
    p = make_patient()
    body = {**entry(), "recorded_at": "2026-01-05T21:30:00+02:00"}
    assert client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers,
                      json=body).status_code == 201
    pid = p.id.replace("-", "") if engine.dialect.name == "sqlite" else p.id
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT recorded_at FROM symptom_entries WHERE patient_id = :p"),
                           {"p": pid}).scalar_one()
    if isinstance(raw, str):  # SQLite keeps the UTC wall time without a zone
        raw = dt.datetime.fromisoformat(raw)
    if raw.tzinfo is not None:
        raw = raw.astimezone(dt.UTC).replace(tzinfo=None)
    assert raw == dt.datetime(2026, 1, 5, 19, 30)
