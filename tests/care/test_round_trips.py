"""What a request costs the database: the caller and the patient are read once, by one
statement, and a write's patient lock is taken by that statement (app/care/guards.py)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event

ENTRY = {"knees": {"left": {"pain": 4}, "right": {"pain": 2}}}


@contextlib.contextmanager
def statements(engine: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _reading(table: str, sql: str) -> bool:
    return re.search(rf"\b(FROM|JOIN) {table}\b", sql) is not None


def test_a_read_looks_up_the_caller_and_the_patient_in_one_statement(
    client, make_patient, engine
):
    p = make_patient()
    assert client.put("/v1/patients/me/symptom-entries/2026-01-05", json=ENTRY,
                      headers=p.headers).status_code == 201
    with statements(engine) as seen:
        r = client.get(f"/v1/patients/{p.id}/symptom-entries/2026-01-05", headers=p.headers)
    assert r.status_code == 200, r.text
    callers = [s for s in seen if _reading("users", s)]
    assert len(callers) == 1, seen
    assert _reading("patients", callers[0])
    assert not any(_reading("patients", s) for s in seen if s not in callers), seen


def test_a_write_locks_its_patient_once_in_the_authorising_statement(
    client, make_patient, engine, monkeypatch
):
    from app.config import get_settings

    # The guard's statements (the single-hop PUT, which takes no guard, has its own test:
    # tests/records/test_single_hop.py).
    monkeypatch.setattr(get_settings(), "single_hop_writes", False)
    p = make_patient()
    with statements(engine) as seen:
        r = client.put("/v1/patients/me/symptom-entries/2026-01-06", json=ENTRY,
                       headers=p.headers)
    assert r.status_code == 201, r.text
    patient_reads = [s for s in seen if _reading("patients", s)]
    assert len(patient_reads) == 1, seen
    assert _reading("users", patient_reads[0])
    if engine.dialect.name == "postgresql":
        assert patient_reads[0].endswith("FOR UPDATE OF patients"), patient_reads


def test_refusals_still_tell_a_bad_token_from_a_foreign_record(client, make_patient):
    p, other = make_patient(), make_patient()
    url = "/v1/patients/{}/symptom-entries/2026-01-05"
    assert client.get(url.format(other.id), headers=p.headers).status_code == 404
    assert client.put(url.format(other.id), json=ENTRY, headers=p.headers).status_code == 404
    bad = {"Authorization": "Bearer " + p.token[:-4] + "AAAA"}
    assert client.get(url.format(p.id), headers=bad).status_code == 401
    assert client.post("/v1/auth/logout", headers=p.headers).status_code == 204
    assert client.get(url.format(p.id), headers=p.headers).status_code == 401
    assert client.put(url.format("me"), json=ENTRY, headers=p.headers).status_code == 401
