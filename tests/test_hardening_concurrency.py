"""Issue 17, findings 9 and 11: limits that concurrent requests slipped past on PostgreSQL.
Real threads, each request on its own pooled connection, released together by a barrier; run
on both databases (SQLite serialises write transactions, PostgreSQL needs the row locks)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

ROUNDS = 6


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call at once, each on its own thread, and return their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def care_team(client, patient) -> list[str]:
    r = client.get("/v1/patients/me/care-team", headers=patient.headers)
    assert r.status_code == 200, r.text
    return [m["clinician_id"] for m in r.json()["items"]]


def test_four_patients_accepting_one_code_at_once_exactly_one_joins(
    client, make_patient, make_clinician
):
    c = make_clinician()
    for _ in range(ROUNDS):
        patients = [make_patient() for _ in range(4)]
        code = client.post("/v1/invitations", headers=c.headers).json()["code"]
        url = f"/v1/invitations/{code}/accept"
        statuses = [r.status_code for r in race(
            [partial(client.post, url, headers=p.headers) for p in patients])]
        assert sorted(statuses) == [200, 404, 404, 404], statuses
        joined = [p for p in patients if care_team(client, p) == [c.id]]
        assert len(joined) == 1
        assert statuses[patients.index(joined[0])] == 200
    panel = client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"]
    assert len(panel) == ROUNDS


def test_one_patient_accepting_several_codes_at_once_joins_once_without_a_500(
    client, make_patient, make_clinician
):
    c = make_clinician()
    for _ in range(ROUNDS):
        p = make_patient()
        codes = [client.post("/v1/invitations", headers=c.headers).json()["code"]
                 for _ in range(4)]
        results = race([partial(client.post, f"/v1/invitations/{code}/accept",
                                headers=p.headers) for code in codes])
        assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
        assert care_team(client, p) == [c.id]


def test_a_grant_and_an_invitation_at_once_make_one_membership(
    client, make_patient, make_clinician
):
    c = make_clinician()
    for _ in range(ROUNDS):
        p = make_patient()
        code = client.post("/v1/invitations", headers=c.headers).json()["code"]
        # The patient's request (a grant) is pending; the clinician accepts it while the
        # patient accepts the clinician's invitation: two joins of one pair at once.
        assert client.post("/v1/patients/me/care-team", headers=p.headers,
                           json={"clinician_id": c.id}).status_code == 202
        results = race([
            partial(client.post, f"/v1/invitations/{code}/accept", headers=p.headers),
            partial(client.post, f"/v1/clinicians/me/care-requests/{p.id}/accept",
                    headers=c.headers),
        ])
        assert all(r.status_code == 200 for r in results), [r.text for r in results]
        assert care_team(client, p) == [c.id]


def test_the_api_key_cap_holds_under_concurrent_creation(client, make_patient):
    from app.config import get_settings

    cap = get_settings().max_api_keys_per_user
    p = make_patient()
    for i in range(cap - 4):
        r = client.post("/v1/api-keys", headers=p.headers, json={"name": f"k{i}",
                                                                   "scopes": ["read"]})
        assert r.status_code == 201, r.text
    # 12 creations at once with room for 4.
    results = race([lambda i=i: client.post("/v1/api-keys", headers=p.headers,
                                            json={"name": f"race{i}", "scopes": ["read"]})
                    for i in range(12)])
    assert Counter(r.status_code for r in results) == {201: 4, 409: 8}
    keys = client.get("/v1/api-keys", headers=p.headers, params={"limit": 200}).json()["items"]
    assert sum(1 for k in keys if not k["revoked"]) == cap
