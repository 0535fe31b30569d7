"""Issue 17, findings 6, 7 and 12 (part): crafted values that answered 500, a signed token
whose `exp` is a string, lenient date formats, and CSV cells a spreadsheet would still run."""

from __future__ import annotations

import base64
import csv
import io
import json
import time
import uuid

import jwt
import pytest

from tests.helpers import assert_problem, entry, session_body


def cursor(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# --- finding 6: crafted cursors and audit bounds ----------------------------------------------

EDGE_INSTANTS = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
BAD_INTEGERS = [2**63, 2**64, -(2**63) - 1, -1, True, False, 1.5, "7"]


@pytest.mark.parametrize("instant", EDGE_INSTANTS)
def test_session_and_note_cursors_with_out_of_range_instants_are_422(
    client, make_patient, make_clinician, link, instant
):
    p, c = make_patient(), make_clinician()
    link(p, c)
    for who, path in ((p, "exercise-sessions"), (c, "notes")):
        crafted = cursor({"k": instant, "i": str(uuid.uuid4())})
        r = client.get(f"/v1/patients/{p.id}/{path}", headers=who.headers,
                       params={"cursor": crafted})
        assert_problem(r, 422, "query.cursor")


def test_cursors_this_server_issues_still_page(client, make_patient):
    p = make_patient()
    for hours in (3, 2, 1):
        r = client.post("/v1/patients/me/exercise-sessions", headers=p.headers,
                        json=session_body(started_at=_hours_ago(hours)))
        assert r.status_code == 201, r.text
    first = client.get("/v1/patients/me/exercise-sessions?limit=2", headers=p.headers).json()
    rest = client.get("/v1/patients/me/exercise-sessions", headers=p.headers,
                      params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1
    changes = client.get("/v1/patients/me/changes?limit=2", headers=p.headers).json()
    again = client.get("/v1/patients/me/changes", headers=p.headers,
                       params={"cursor": changes["next_cursor"]})
    assert again.status_code == 200 and len(again.json()["items"]) == 1
    log = client.get("/v1/patients/me/access-log?limit=1", headers=p.headers).json()
    more = client.get("/v1/patients/me/access-log", headers=p.headers,
                      params={"limit": 1, "cursor": log["next_cursor"]})
    assert more.status_code == 200 and more.json()["items"]


def _hours_ago(hours: int) -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize("value", BAD_INTEGERS, ids=repr)
def test_sequence_cursors_out_of_bigint_or_not_integers_are_422(client, make_patient, admin,
                                                                value):
    p = make_patient()
    probes = [(p, "/v1/patients/me/changes", {"s": value}),
              (p, "/v1/patients/me/access-log", {"id": value}),
              (admin, "/v1/admin/audit-events", {"id": value})]
    for who, path, data in probes:
        r = client.get(path, headers=who.headers, params={"cursor": cursor(data)})
        assert_problem(r, 422, "query.cursor")


@pytest.mark.parametrize("field", ["from", "to"])
@pytest.mark.parametrize("value", [*EDGE_INSTANTS, "0001-01-01T00:00:00Z",
                                   "9999-12-31T00:00:00Z", "1899-12-31T23:59:59Z"])
def test_audit_bounds_out_of_range_are_422_naming_the_field(client, admin, field, value):
    r = client.get("/v1/admin/audit-events", headers=admin.headers, params={field: value})
    assert_problem(r, 422, f"query.{field}")


def test_audit_bounds_in_range_still_filter(client, admin, make_patient):
    # At least one event in this database, whatever ran before: a patient's read is audited.
    p = make_patient()
    assert client.get("/v1/patients/me/symptom-entries", headers=p.headers).status_code == 200
    r = client.get("/v1/admin/audit-events", headers=admin.headers,
                   params={"from": "1900-01-01T00:00:00Z", "to": "2100-12-31T23:59:59+00:00"})
    assert r.status_code == 200 and r.json()["items"]
    r = client.get("/v1/admin/audit-events", headers=admin.headers,
                   params={"to": "1900-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.json()["items"] == []
    assert_problem(client.get("/v1/admin/audit-events", headers=admin.headers,
                              params={"from": "2026-01-01T00:00:00"}), 422, "query.from")


# --- finding 7: claims of another type in a correctly signed token -----------------------------


@pytest.mark.parametrize("change", [
    {"exp": "NOW+600"}, {"exp": "soon"}, {"exp": True}, {"exp": 1e12}, {"exp": None},
    {"iat": "NOW"}, {"sid": 123}, {"sid": ["x"]}, {"sid": {"a": 1}}, {"sub": 7},
    {"typ": 5},
], ids=repr)
def test_a_signed_token_with_a_claim_of_another_type_is_401(client, make_patient, change):
    from app.config import get_settings

    p = make_patient()
    claims = jwt.decode(p.token, options={"verify_signature": False})
    now = str(int(time.time()))
    change = {k: (v.replace("NOW+600", str(int(now) + 600)).replace("NOW", now)
                  if isinstance(v, str) else v) for k, v in change.items()}
    token = jwt.encode({**claims, **change}, get_settings().secret_key, algorithm="HS256")
    r = client.get("/v1/patients/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401)
    # The same claims with the types this server writes are accepted.
    assert client.get("/v1/patients/me", headers=p.headers).status_code == 200


# --- finding 12: strict date formats ----------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00Z", "2026-01-01T00:00", "20260101",
                                  "2026-W10-1", "2026-001", "+2026-01-01", " 2026-01-01",
                                  "2026-01-01 "])
def test_entry_dates_are_exactly_yyyy_mm_dd(client, make_patient, text):
    p = make_patient()
    r = client.put(f"/v1/patients/me/symptom-entries/{text}", headers=p.headers, json=entry(3))
    assert_problem(r, 422, "path.entry_date")
    r = client.post("/v1/patients/me/sync", headers=p.headers,
                    json={"symptom_entries": [{"entry_date": text, **entry(3)}]})
    result = r.json()["results"][0]
    assert result["status"] == "invalid"
    assert [e["loc"] for e in result["errors"]] == [["entry_date"]]


@pytest.mark.parametrize("key", ["2026-W10-1", "20260302", "2026-061", "2026-03-02T00:00:00",
                                 "0001-01-01", "9999-12-31"])
def test_deletion_keys_are_exactly_yyyy_mm_dd_in_range(client, make_patient, key):
    p = make_patient()
    client.put("/v1/patients/me/symptom-entries/2026-03-02", headers=p.headers, json=entry(3))
    r = client.post("/v1/patients/me/sync", headers=p.headers,
                    json={"deletions": [{"kind": "symptom_entry", "key": key}]})
    result = r.json()["results"][0]
    assert result["status"] == "invalid" and [e["loc"] for e in result["errors"]] == [["key"]]
    # 2026-W10-1 is 2026-03-02: the entry is still there.
    assert client.get("/v1/patients/me/symptom-entries/2026-03-02",
                      headers=p.headers).status_code == 200
    r = client.post("/v1/patients/me/sync", headers=p.headers,
                    json={"deletions": [{"kind": "symptom_entry", "key": "2026-03-02"}]})
    assert r.json()["results"][0]["status"] == "deleted"


# --- finding 12: CSV cells a spreadsheet may still run ---------------------------------------

# OWASP's list and what spreadsheets skip or normalise before reading a formula.
RISKY = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1+1", " =1+1", "  +1",
         "\u00a0=1+1", "\u3000@SUM(A1)", "\u200b=1", "\ufeff-1", "\uff1d1+1", "\uff0b1",
         "\uff0d1", "\uff20SUM(A1)", "\ufe661+1", "\u00a0\uff1d1", "\x0b1", "\n"]
HARMLESS = ["fine", " fine", "\u00a0fine", "café", "1 = 1", "a-b", "", " ", "ok @home"]


def test_every_leading_trigger_is_neutralised():
    from app.exports.csv import cell

    for text in RISKY:
        assert cell(text) == "'" + text, repr(text)
    for text in HARMLESS:
        assert cell(text) == text, repr(text)


def test_the_exported_file_carries_the_neutralised_notes(client, make_patient):
    p = make_patient()
    day = 1
    for note in RISKY[6:16]:
        r = client.put(f"/v1/patients/me/symptom-entries/2026-01-{day:02d}", headers=p.headers,
                       json=entry(3, notes=note))
        assert r.status_code == 201, (note, r.text)
        day += 1
    r = client.get("/v1/patients/me/export.csv?kind=symptoms&from=2026-01-01&to=2026-01-31",
                   headers=p.headers)
    assert r.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    notes = [dict(zip(header, row, strict=True))["notes"] for row in rows]
    assert notes == ["'" + n for n in RISKY[6:16]]
