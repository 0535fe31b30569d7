"""The v2 measures in the exports: night pain, locking, daily-life falls and analgesics in the
diary CSV and FHIR; treatments and function tests as CSV kinds; treatments as FHIR Procedures,
function tests, PGIC and PASS as Observations (validated with `fhir.resources`)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.procedure import Procedure

from tests.exports.test_fhir import SNOMED, _bundle

BASE = "https://kneetrack.dev/fhir/CodeSystem"


@pytest.fixture()
def programme(client, make_patient, make_clinician, link) -> Any:
    p, c = make_patient(), make_clinician()
    link(p, c)
    h = p.headers
    body = {"knees": {"left": {"pain": 6, "night_pain": 7, "locking": True},
                      "right": {"pain": 2, "locking": False}},
            "falls": 1, "analgesics": {"doses": 3, "kinds": ["paracetamol", "nsaid_topical"]},
            "notes": "=1+1"}
    assert client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                      json=body).status_code == 201
    assert client.put("/v1/patients/me/symptom-entries/2026-01-06", headers=h,
                      json={"knees": {"left": {"pain": 5}},
                            "analgesics": {"doses": 0}}).status_code == 201
    r = client.post(f"/v1/patients/{p.id}/treatments", headers=c.headers,
                    json={"kind": "genicular_artery_embolisation", "knee": "both",
                          "date": "2026-01-07", "notes": "@cmd"})
    assert r.status_code == 201, r.text
    client.post("/v1/patients/me/treatments", headers=h,
                json={"kind": "arthroscopy", "knee": "right", "date": "2025-05-01"})
    for test, value, supervised in (("chair_stand_30s", 9, True), ("tug", 12.25, None)):
        r = client.post("/v1/patients/me/function-tests", headers=h,
                        json={"test": test, "performed_on": "2026-01-06", "value": value,
                              "supervised": supervised})
        assert r.status_code == 201, r.text
    for instrument, answers in (("pgic", {"change": 2}), ("pass", {"acceptable": 0})):
        r = client.post("/v1/patients/me/questionnaires", headers=h,
                        json={"instrument": instrument, "completed_on": "2026-01-07",
                              "answers": answers})
        assert r.status_code == 201, r.text
    return p


def _csv(client, account, kind: str) -> list[dict[str, str]]:
    r = client.get(f"/v1/patients/me/export.csv?kind={kind}", headers=account.headers)
    assert r.status_code == 200, r.text
    header, *rows = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_diary_csv_has_the_new_columns(client, programme):
    rows = _csv(client, programme, "symptoms")
    left, right, second = rows
    assert (left["knee"], left["night_pain"], left["locking"]) == ("left", "7", "true")
    assert (right["knee"], right["night_pain"], right["locking"]) == ("right", "", "false")
    for row in (left, right):  # the day's own fields repeat on each knee's row
        assert (row["falls"], row["analgesic_doses"], row["analgesic_kinds"]) == (
            "1", "3", "paracetamol nsaid_topical")
        assert row["notes"] == "'=1+1"
    assert (second["falls"], second["analgesic_doses"], second["analgesic_kinds"]) == ("", "0", "")


def test_treatments_and_function_tests_csv(client, programme):
    t = _csv(client, programme, "treatments")
    assert [(r["date"], r["kind"], r["knee"]) for r in t] == [
        ("2025-05-01", "arthroscopy", "right"),
        ("2026-01-07", "genicular_artery_embolisation", "both")]
    assert t[1]["notes"] == "'@cmd"  # text that a spreadsheet would run is neutralised
    f = _csv(client, programme, "function_tests")
    assert [(r["test"], r["value"], r["unit"], r["supervised"]) for r in f] == [
        ("chair_stand_30s", "9", "stands", "true"), ("tug", "12.25", "seconds", "")]


def _local(bundle, system: str) -> list[Observation]:
    return [e.resource for e in bundle.entry if isinstance(e.resource, Observation)
            and e.resource.code.coding[0].system == f"{BASE}/{system}"]


def test_fhir_bundle_validates_with_every_new_measure(client, programme):
    bundle = _bundle(client, programme)  # validates the bundle and every entry
    symptoms = {(o.code.coding[0].code, o.bodySite.coding[0].code):
                (o.valueQuantity.value if o.valueQuantity else o.valueBoolean)
                for o in _local(bundle, "symptom")}
    assert symptoms[("night-pain", "82169009")] == 7
    assert symptoms[("locking", "82169009")] is True
    assert symptoms[("locking", "6757004")] is False
    diary = {(str(o.effectiveDateTime), o.code.coding[0].code): o for o in _local(bundle, "diary")}
    assert diary[("2026-01-05", "falls")].valueInteger == 1
    doses = diary[("2026-01-05", "analgesic-doses")]
    assert doses.valueInteger == 3
    assert [c.valueCodeableConcept.coding[0].code for c in doses.component] == [
        "paracetamol", "nsaid_topical"]
    assert diary[("2026-01-06", "analgesic-doses")].valueInteger == 0
    assert not diary[("2026-01-06", "analgesic-doses")].component

    procedures = sorted((e.resource for e in bundle.entry if isinstance(e.resource, Procedure)),
                        key=lambda r: str(r.performedDateTime))
    scope, gae = procedures
    assert gae.status == "completed" and str(gae.performedDateTime) == "2026-01-07"
    assert gae.code.coding[0].code == "genicular_artery_embolisation"
    assert sorted(s.coding[0].code for s in gae.bodySite) == ["6757004", "82169009"]
    assert gae.note[0].text == "@cmd"
    assert (SNOMED, "309431009") in {(c.system, c.code) for c in scope.code.coding}

    tests = {o.code.coding[0].code: o for o in _local(bundle, "function-test")}
    assert tests["chair_stand_30s"].valueQuantity.value == 9
    assert tests["chair_stand_30s"].component[0].valueBoolean is True
    assert (tests["tug"].valueQuantity.value, tests["tug"].valueQuantity.code) == (12.25, "s")
    answers = {o.code.coding[0].code: o for o in _local(bundle, "questionnaire")}
    assert answers["pgic"].valueInteger == 2 and answers["pass"].valueBoolean is False


def test_deleted_treatments_and_tests_are_not_exported(client, programme):
    h = programme.headers
    for url in ("/v1/patients/me/treatments", "/v1/patients/me/function-tests"):
        for item in client.get(url, headers=h).json()["items"]:
            assert client.delete(f"{url}/{item['id']}", headers=h).status_code == 204
    assert _csv(client, programme, "treatments") == []
    assert _csv(client, programme, "function_tests") == []
    bundle = _bundle(client, programme)
    assert not [e for e in bundle.entry if isinstance(e.resource, Procedure)]
    assert _local(bundle, "function-test") == []
