from __future__ import annotations

import datetime as dt

from tests.helpers import assert_problem, entry


def test_invitation_flow_gives_read_access(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c.headers), 404)
    link(p, c)
    r = client.get(f"/v1/patients/{p.id}", headers=c.headers)
    assert r.status_code == 200
    assert r.json()["email"] is None  # a clinician does not get the patient's sign-in email
    team = client.get("/v1/patients/me/care-team", headers=p.headers).json()["items"]
    assert [m["clinician_id"] for m in team] == [c.id]
    assert team[0]["granted_via"] == "invitation"


def test_invitation_code_is_single_use_and_patient_only(client, make_patient, make_clinician):
    p1, p2, c = make_patient(), make_patient(), make_clinician()
    code = client.post("/v1/invitations", headers=c.headers).json()["code"]
    assert_problem(client.post(f"/v1/invitations/{code}/accept", headers=c.headers), 403)
    assert client.post(f"/v1/invitations/{code}/accept", headers=p1.headers).status_code == 200
    assert_problem(client.post(f"/v1/invitations/{code}/accept", headers=p2.headers), 404)
    assert_problem(client.post("/v1/invitations/NOPE/accept", headers=p2.headers), 404)
    assert_problem(client.post("/v1/invitations", headers=p1.headers), 403)


def test_expired_invitation_is_refused(client, make_patient, make_clinician, pinned_now):
    p, c = make_patient(), make_clinician()
    code = client.post("/v1/invitations", headers=c.headers).json()["code"]
    pinned_now(dt.datetime.now(dt.UTC) + dt.timedelta(days=15))
    assert_problem(client.post(f"/v1/invitations/{code}/accept", headers=p.headers), 404)


def test_grant_by_email_and_by_id_waits_for_the_clinician(client, make_patient, make_clinician):
    """Hardening finding 8: a grant is a request; the clinician joins only by accepting it,
    and the answer never tells whether the email or id is a clinician's."""
    p, c1, c2 = make_patient(), make_clinician(), make_clinician()
    r = client.post("/v1/patients/me/care-team", headers=p.headers,
                    json={"clinician_email": c1.email})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    pending = r.json()
    r = client.post(f"/v1/patients/{p.id}/care-team", headers=p.headers,
                    json={"clinician_id": c2.id})
    assert r.status_code == 202
    # No access before the clinician accepts.
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c2.headers), 404)
    assert client.get("/v1/patients/me/care-team", headers=p.headers).json()["items"] == []
    # A patient's id, an unknown email: the very same answer.
    other = make_patient()
    for body in ({"clinician_id": other.id}, {"clinician_email": "nobody@example.org"},
                 {"clinician_email": other.email}):
        r = client.post("/v1/patients/me/care-team", headers=p.headers, json=body)
        assert r.status_code == 202 and r.json() == pending
    assert_problem(client.post("/v1/patients/me/care-team", headers=p.headers, json={}), 422)
    # The clinician sees the request and accepts it.
    items = client.get("/v1/clinicians/me/care-requests", headers=c2.headers).json()["items"]
    assert [i["patient_id"] for i in items] == [p.id]
    r = client.post(f"/v1/clinicians/me/care-requests/{p.id}/accept", headers=c2.headers)
    assert r.status_code == 200 and r.json()["granted_via"] == "grant"
    assert client.get(f"/v1/patients/{p.id}", headers=c2.headers).status_code == 200
    assert client.get("/v1/clinicians/me/care-requests", headers=c2.headers).json() == {
        "items": []}
    assert_problem(client.post(f"/v1/clinicians/me/care-requests/{p.id}/accept",
                               headers=c2.headers), 404)
    # c1 declines: no access, and the request is gone from the list.
    assert client.delete(f"/v1/clinicians/me/care-requests/{p.id}",
                         headers=c1.headers).status_code == 204
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c1.headers), 404)
    assert client.get("/v1/clinicians/me/care-requests", headers=c1.headers).json() == {
        "items": []}
    # Another clinician cannot accept a request made to c1, nor a patient at all.
    assert_problem(client.post(f"/v1/clinicians/me/care-requests/{p.id}/accept",
                               headers=c1.headers), 404)
    assert_problem(client.get("/v1/clinicians/me/care-requests", headers=p.headers), 403)


def test_revocation_takes_effect_on_next_request(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    link(p, c)
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry())
    assert client.get(f"/v1/patients/{p.id}/symptom-entries",
                      headers=c.headers).status_code == 200
    assert client.delete(f"/v1/patients/me/care-team/{c.id}",
                         headers=p.headers).status_code == 204
    assert_problem(client.get(f"/v1/patients/{p.id}/symptom-entries", headers=c.headers), 404)
    assert client.get("/v1/patients/me/care-team", headers=p.headers).json()["items"] == []
    # Asking again restores access only once the clinician accepts again.
    client.post("/v1/patients/me/care-team", headers=p.headers, json={"clinician_id": c.id})
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c.headers), 404)
    assert client.post(f"/v1/clinicians/me/care-requests/{p.id}/accept",
                       headers=c.headers).status_code == 200
    assert client.get(f"/v1/patients/{p.id}", headers=c.headers).status_code == 200


def test_clinician_may_leave_but_not_remove_others(client, make_patient, make_clinician, link):
    p, c1, c2 = make_patient(), make_clinician(), make_clinician()
    link(p, c1)
    link(p, c2)
    assert_problem(client.delete(f"/v1/patients/{p.id}/care-team/{c2.id}",
                                 headers=c1.headers), 403)
    assert client.delete(f"/v1/patients/{p.id}/care-team/{c1.id}",
                         headers=c1.headers).status_code == 204
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c1.headers), 404)
    assert client.get(f"/v1/patients/{p.id}", headers=c2.headers).status_code == 200


def test_panel_lists_only_own_patients(client, make_patient, make_clinician, link, settle):
    p1, p2, p3, c = make_patient(), make_patient(), make_patient(), make_clinician()
    link(p1, c)
    link(p2, c)
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p1.headers, json=entry())
    client.delete(f"/v1/patients/{p2.id}/care-team/{c.id}", headers=p2.headers)
    settle()  # the state worker's pass: the panel's numbers are stored, not computed on read
    items = client.get("/v1/clinicians/me/patients", headers=c.headers).json()["items"]
    assert [i["patient_id"] for i in items] == [p1.id]
    assert items[0]["last_entry_date"] == "2026-01-05"
    assert p3.id not in str(items)
    assert_problem(client.get("/v1/clinicians/me/patients", headers=p1.headers), 403)


def test_profile_patch(client, make_patient, make_clinician, link):
    p, c = make_patient(), make_clinician()
    r = client.patch("/v1/patients/me", headers=p.headers,
                     json={"timezone": "Pacific/Auckland", "index_knee": "left"})
    assert r.status_code == 200
    assert r.json()["timezone"] == "Pacific/Auckland"
    assert_problem(client.patch("/v1/patients/me", headers=p.headers,
                                json={"timezone": "Nowhere/City"}), 422, "timezone")
    assert_problem(client.patch("/v1/patients/me", headers=p.headers,
                                json={"timezone": None}), 422)
    assert_problem(client.patch("/v1/patients/me", headers=p.headers, json={"shoe": 9}), 422,
                   "shoe")
    link(p, c)
    assert_problem(client.patch(f"/v1/patients/{p.id}", headers=c.headers,
                                json={"index_knee": "right"}), 403)


def test_erase_account_deletes_all_health_data(client, make_patient, make_clinician, link,
                                              engine):
    from sqlalchemy import text

    p, c = make_patient(), make_clinician()
    link(p, c)
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry())
    client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=entry(5))
    assert_problem(client.request("DELETE", "/v1/patients/me", headers=p.headers,
                                  json={"password": "wrong-password"}), 401)
    r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                       json={"password": p.password})
    assert r.status_code == 204
    assert_problem(client.get("/v1/patients/me", headers=p.headers), 401)
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=c.headers), 404)
    pid = p.id.replace("-", "") if engine.dialect.name == "sqlite" else p.id
    with engine.connect() as conn:
        for table in ("symptom_entries", "revisions", "care_team_members", "patients"):
            col = "id" if table == "patients" else "patient_id"
            n = conn.execute(text(f"SELECT count(*) FROM {table} WHERE {col} = :p"),
                             {"p": pid}).scalar()
            assert n == 0, table
