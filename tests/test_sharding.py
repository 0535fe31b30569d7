"""Scale-out by patient: every table and every statement the API runs is placed.

docs/operations.md ("Beyond one PostgreSQL") describes distributing the data by `patient_id`.
This test holds the code to it: every table is either a patient table (its rows carry the
patient's id in the column named here, so they live on that patient's shard) or a directory
table (accounts and credentials, looked up by user, kept apart); and every SQL statement that
the routes run on a patient table, called by the patient and by a clinician on the care team,
names one patient by a bound value (`patient_id = ?`, `patients.id = ?`, or the inserted
`patient_id`), so it can be routed to one shard. The few that cannot — reads across patients
by design — are listed in SCATTER with how they would be served."""

from __future__ import annotations

import re
import traceback
from collections import defaultdict
from typing import Any

from sqlalchemy import event
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import get_engine
from tests.care.test_access_matrix import SAMPLE_BODIES, _pid_routes, _url
from tests.care.test_access_matrix import world as world  # the fixture, re-exported

# table -> the column that places its rows on a patient's shard.
PATIENT_TABLES = {
    "patients": "id", "patient_states": "patient_id", "state_queue": "patient_id",
    "symptom_entries": "patient_id", "exercise_sessions": "patient_id",
    "exercise_plans": "patient_id", "questionnaire_responses": "patient_id",
    "treatments": "patient_id", "function_tests": "patient_id", "clinical_notes": "patient_id",
    "flag_episodes": "patient_id", "flag_reviews": "patient_id", "revisions": "patient_id",
    "changes": "patient_id", "care_team_members": "patient_id",
    "care_team_requests": "patient_id", "idempotency_keys": "patient_id",
    "audit_events": "patient_id",
}
# Looked up by user or by credential, never by patient: a small directory beside the shards.
DIRECTORY_TABLES = {"users", "api_keys", "refresh_tokens", "invitations"}
# Call sites (the innermost frame in app/) allowed to read patient tables across patients.
SCATTER = {
    "app/audit/service.py:_page": "an admin's audit search: every shard, merged by time",
    "app/trends/panel.py:_page": "a clinician's panel: the care-team index gives the "
    "patient ids, then each shard's patient_states rows, merged in the panel's order",
}

_TABLE = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?(\w+)"?', re.I)
_BOUND = r"\s*(?:=|IN)\s*(?:\?|%\(|\$\d|:\w|\(\s*(?:\?|%\(|\$\d|__\[POSTCOMPILE)|__\[POSTCOMPILE)"
_ONE_PATIENT = re.compile(r"\b(?:\w+\.)?patient_id" + _BOUND + r"|\bpatients\.id" + _BOUND, re.I)


def _routable(statement: str) -> bool:
    if statement.lstrip().upper().startswith("INSERT"):
        return "patient_id" in statement.split(")", 1)[0] or "INTO patients" in statement
    return bool(_ONE_PATIENT.search(statement))


def _call_site() -> str:
    for frame in reversed(traceback.extract_stack()):
        if "/app/" in frame.filename and not frame.filename.endswith(("/app/sql.py", "/app/db.py")):
            return f"app/{frame.filename.rsplit('/app/', 1)[1]}:{frame.name}"
    return "?"


def test_every_table_is_placed():
    tables = set(SQLModel.metadata.tables)
    assert tables == set(PATIENT_TABLES) | DIRECTORY_TABLES, (
        "place each table in docs/operations.md and here: "
        f"{sorted(tables ^ (set(PATIENT_TABLES) | DIRECTORY_TABLES))}")
    for name, column in PATIENT_TABLES.items():
        assert column in SQLModel.metadata.tables[name].columns, (name, column)


def test_every_statement_on_a_patient_table_names_one_patient(app, client, world, admin):
    owner, mine, _foreign, ids = world
    unscoped: dict[str, set[str]] = defaultdict(set)
    touched: set[str] = set()

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        tables = set(_TABLE.findall(statement)) & set(PATIENT_TABLES)
        touched.update(tables)
        if tables and not _routable(statement):
            unscoped[_call_site()].add(" ".join(statement.split())[:90])

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", note)
    try:
        # Erasing the patient comes last (it deletes every row of theirs).
        routes = sorted(_pid_routes(app), key=lambda r: r == ("DELETE", "/v1/patients/{pid}"))
        for method, path in routes:
            for actor, pid in ((mine, owner.id), (owner, "me")):
                body = SAMPLE_BODIES.get((method, path))
                client.request(method, _url(path, pid, ids), headers=actor.headers,
                               json=body if method != "GET" else None)
        assert client.get("/v1/clinicians/me/patients", headers=mine.headers).status_code == 200
        assert client.get("/v1/admin/audit-events", headers=admin.headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(touched) >= 15, sorted(touched)
    assert set(unscoped) <= set(SCATTER), {k: sorted(v) for k, v in unscoped.items()
                                           if k not in SCATTER}
    assert set(unscoped) == set(SCATTER), "a SCATTER entry no longer happens: remove it"
