"""The access matrix: every route that takes `{pid}`, called by every kind of foreign actor,
answers 404 (exactly like a record that does not exist) and changes nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from app.main import iter_api_routes
from tests.helpers import entry, session_body

SAMPLE_PATH_VALUES = {
    "entry_date": "2026-01-05",
    "session_id": "11111111-1111-4111-8111-111111111111",
}
PLAN = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
        "start_date": "2026-01-05"}
KOOS = {"instrument": "koos", "completed_on": "2026-01-05", "answers": {"Q1": 1, "Q2": 2}}
TREATMENT = {"kind": "genicular_artery_embolisation", "knee": "left", "date": "2026-01-05"}
FUNCTION_TEST = {"test": "chair_stand_30s", "performed_on": "2026-01-05", "value": 10}
SAMPLE_BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/v1/patients/{pid}/symptom-entries/{entry_date}"): entry(),
    ("PUT", "/v1/patients/{pid}/exercise-sessions/{session_id}"): session_body(),
    ("POST", "/v1/patients/{pid}/exercise-sessions"): session_body(),
    ("PATCH", "/v1/patients/{pid}"): {"index_knee": "left"},
    ("POST", "/v1/patients/{pid}/sync"): {
        "symptom_entries": [{"entry_date": "2026-01-06", **entry()}],
        "deletions": [{"kind": "symptom_entry", "key": "2026-01-05"}],
    },
    ("DELETE", "/v1/patients/{pid}"): {"password": "a-long-test-password"},
    ("POST", "/v1/patients/{pid}/exercise-plans"): PLAN,
    ("PATCH", "/v1/patients/{pid}/exercise-plans/{plan_id}"): {"sessions_per_week": 5},
    ("POST", "/v1/patients/{pid}/questionnaires"): KOOS,
    ("POST", "/v1/patients/{pid}/notes"): {"text": "Seen today.", "topic": "review"},
    ("POST", "/v1/patients/{pid}/treatments"): TREATMENT,
    ("PATCH", "/v1/patients/{pid}/treatments/{treatment_id}"): {"notes": "changed"},
    ("POST", "/v1/patients/{pid}/function-tests"): FUNCTION_TEST,
}


def _pid_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for route in iter_api_routes(app.routes):
        if "{pid}" in route.path:
            out.extend((m, route.path) for m in sorted(route.methods))
    return out


def _walk(dependant: Any) -> set[Any]:
    calls = {dependant.call}
    for d in dependant.dependencies:
        calls |= _walk(d)
    return calls


def test_every_pid_route_goes_through_the_access_policy(app):
    from app.care.guards import ACCESS_DEPENDENCIES

    routes = [r for r in iter_api_routes(app.routes) if "{pid}" in r.path]
    assert routes, "no {pid} routes found"
    missing = [r.path for r in routes
               if not (_walk(r.dependant) & set(ACCESS_DEPENDENCIES))]
    assert missing == [], f"routes bypassing care/guards.py: {missing}"


def _url(path: str, pid: str, ids: dict[str, str]) -> str:
    values = {"pid": pid, **SAMPLE_PATH_VALUES, **ids}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def _snapshot(client: Any, owner: Any) -> Any:
    h = owner.headers
    return (
        client.get("/v1/patients/me", headers=h).json(),
        client.get("/v1/patients/me/symptom-entries", headers=h).json(),
        client.get("/v1/patients/me/exercise-sessions", headers=h).json(),
        client.get("/v1/patients/me/care-team", headers=h).json(),
        client.get("/v1/patients/me/exercise-plans", headers=h).json(),
        client.get("/v1/patients/me/questionnaires", headers=h).json(),
        client.get("/v1/patients/me/notes", headers=h).json(),
        client.get("/v1/patients/me/treatments", headers=h).json(),
        client.get("/v1/patients/me/function-tests", headers=h).json(),
        client.get("/v1/patients/me/changes", headers=h).json(),
    )


@pytest.fixture()
def world(client, make_patient, make_clinician, link):
    owner = make_patient()
    mine = make_clinician()
    link(owner, mine)
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=owner.headers, json=entry())
    sid = SAMPLE_PATH_VALUES["session_id"]
    r = client.put(f"/v1/patients/me/exercise-sessions/{sid}", headers=owner.headers,
                   json=session_body())
    assert r.status_code in (200, 201), r.text
    r = client.post(f"/v1/patients/{owner.id}/exercise-plans", headers=mine.headers, json=PLAN)
    assert r.status_code == 201, r.text
    ids = {"clinician_id": mine.id, "plan_id": r.json()["id"]}
    r = client.post("/v1/patients/me/questionnaires", headers=owner.headers, json=KOOS)
    assert r.status_code == 201, r.text
    ids["questionnaire_id"] = r.json()["id"]
    r = client.post(f"/v1/patients/{owner.id}/notes", headers=mine.headers, json={"text": "Seen."})
    assert r.status_code == 201, r.text
    ids["note_id"] = r.json()["id"]
    r = client.post("/v1/patients/me/treatments", headers=owner.headers, json=TREATMENT)
    assert r.status_code == 201, r.text
    ids["treatment_id"] = r.json()["id"]
    r = client.post(f"/v1/patients/{owner.id}/function-tests", headers=mine.headers,
                    json=FUNCTION_TEST)
    assert r.status_code == 201, r.text
    ids["test_id"] = r.json()["id"]
    revoked = make_clinician()
    link(owner, revoked)
    assert client.delete(f"/v1/patients/{owner.id}/care-team/{revoked.id}",
                         headers=owner.headers).status_code == 204
    return owner, mine, {"other patient": make_patient(), "unlinked clinician": make_clinician(),
                         "revoked clinician": revoked}, ids


def test_foreign_actors_get_404_and_change_nothing(app, client, world, admin):
    owner, _mine, foreigners, ids = world
    foreigners = {**foreigners, "admin": admin}
    before = _snapshot(client, owner)
    assert len(_pid_routes(app)) >= 25
    failures = []
    for who, actor in foreigners.items():
        pids = (owner.id, "me") if who == "admin" else (owner.id,)
        failures += _every_pid_route(app, client, who, actor.headers, pids, ids, 404)
    assert failures == []
    assert _snapshot(client, owner) == before


def _every_pid_route(app: Any, client: Any, who: str, headers: dict[str, str],
                     pids: tuple[str, ...], ids: dict[str, str], status: int) -> list[str]:
    """Calls every `{pid}` route (with a valid body for writes); what did not answer `status`
    as problem+json."""
    failures = []
    for method, path in _pid_routes(app):
        for pid in pids:
            body = SAMPLE_BODIES.get((method, path))
            r = client.request(method, _url(path, pid, ids), headers=headers,
                               json=body if method in ("PUT", "POST", "PATCH", "DELETE")
                               else None)
            if r.status_code != status or not r.headers["content-type"].startswith(
                    "application/problem+json"):
                failures.append(f"{who}: {method} {path} -> {r.status_code}")
    return failures


def test_unknown_patient_is_the_same_404(client, world):
    owner, mine, *_ = world
    a = client.get(f"/v1/patients/{uuid.uuid4()}/symptom-entries", headers=mine.headers)
    b = client.get(f"/v1/patients/{owner.id}/symptom-entries",
                   headers=world[2]["unlinked clinician"].headers)
    assert a.status_code == b.status_code == 404
    strip = lambda j: {k: v for k, v in j.items() if k != "instance"}  # noqa: E731
    assert strip(a.json()) == strip(b.json())


def test_care_team_clinician_reads_but_does_not_write_the_diary(app, client, world):
    owner, mine, *_ = world
    assert client.get(f"/v1/patients/{owner.id}/symptom-entries",
                      headers=mine.headers).status_code == 200
    r = client.put(f"/v1/patients/{owner.id}/symptom-entries/2026-01-06", headers=mine.headers,
                   json=entry())
    assert r.status_code == 403
    r = client.put(f"/v1/patients/{owner.id}/symptom-entries/2026-01-06",
                   headers=world[2]["other patient"].headers, json=entry())
    assert r.status_code == 404


def _dead_tokens(client: Any, owner: Any, make_patient: Any) -> dict[str, str]:
    """An expired access token of the owner themself, and the token of an erased account."""
    import datetime as dt

    import jwt

    from app.auth.security import create_access_token

    claims = jwt.decode(owner.token, options={"verify_signature": False})
    expired, _ = create_access_token(
        user_id=uuid.UUID(owner.id), role="patient", family_id=uuid.UUID(claims["sid"]),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    erased = make_patient()
    r = client.request("DELETE", "/v1/patients/me", headers=erased.headers,
                       json={"password": erased.password})
    assert r.status_code == 204, r.text
    return {"expired token": expired, "erased account's token": erased.token}


def test_expired_and_erased_tokens_get_401_and_change_nothing(app, client, world, make_patient):
    owner, _mine, _, ids = world
    before = _snapshot(client, owner)
    failures = []
    for who, token in _dead_tokens(client, owner, make_patient).items():
        failures += _every_pid_route(app, client, who, {"Authorization": f"Bearer {token}"},
                                     (owner.id, "me"), ids, 401)
    assert failures == []
    assert _snapshot(client, owner) == before
