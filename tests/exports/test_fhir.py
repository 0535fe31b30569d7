"""The FHIR export, validated with the R4B models of `fhir.resources` (not by string checks)."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from tests.helpers import assert_problem

LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
KNEES = {"82169009": "left", "6757004": "right"}


def _bundle(client, account, query: str = "", pid: str | None = None) -> Bundle:
    r = client.get(f"/v1/patients/{pid or account.id}/export.fhir{query}",
                   headers=account.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    data = json.loads(r.content)
    bundle = Bundle.model_validate(data)
    # Each entry validates as its own resource type too (strictly, with every field).
    for e in data["entry"]:
        get_fhir_model_class(e["resource"]["resourceType"]).model_validate(e["resource"])
    return bundle


def _codes(concept) -> set[tuple[str, str]]:
    return {(c.system, c.code) for c in concept.coding}


def _observations(bundle: Bundle, system: str, code: str) -> list[Observation]:
    out = []
    for e in bundle.entry:
        res = e.resource
        if isinstance(res, Observation) and (system, code) in _codes(res.code):
            out.append(res)
    return out


def test_bundle_validates_and_maps_every_measure(client, history):
    bundle = _bundle(client, history)
    assert bundle.type == "collection"
    patients = [e.resource for e in bundle.entry if isinstance(e.resource, Patient)]
    assert len(patients) == 1
    patient = patients[0]
    assert patient.gender == "female" and str(patient.birthDate) == "1956"
    ref = f"urn:uuid:{patient.id}"
    assert bundle.entry[0].fullUrl == ref
    urls = [e.fullUrl for e in bundle.entry]
    assert len(urls) == len(set(urls))

    pain = _observations(bundle, LOINC, "72514-3")
    got = sorted((str(o.effectiveDateTime), KNEES[o.bodySite.coding[0].code],
                  o.valueQuantity.value) for o in pain)
    assert got == [("2026-01-05", "left", 6), ("2026-01-05", "right", 2),
                   ("2026-01-06", "left", 5)]
    assert all(o.subject.reference == ref and o.bodySite.coding[0].system == SNOMED
               for o in pain)

    symptoms = _observations(bundle, LOINC, "75325-1")
    by_kind = {}
    for o in symptoms:
        kind = o.valueCodeableConcept.coding[0].code
        [comp] = o.component
        assert (LOINC, "64750-3") in _codes(comp.code)
        sev = comp.valueQuantity.value if comp.valueQuantity else \
            comp.valueCodeableConcept.coding[0].display
        by_kind.setdefault(kind, []).append((str(o.effectiveDateTime),
                                             KNEES[o.bodySite.coding[0].code], sev))
    assert sorted(by_kind["stiffness"]) == [("2026-01-05", "left", 5), ("2026-01-07", "right", 3)]
    assert sorted(by_kind["swelling"]) == [("2026-01-05", "left", "moderate"),
                                           ("2026-01-06", "left", "none")]

    rom = [e.resource for e in bundle.entry if isinstance(e.resource, Observation)
           and e.resource.code.coding[0].system == "https://kneetrack.dev/fhir/CodeSystem/rom"]
    got = sorted((o.code.coding[0].code, KNEES[o.bodySite.coding[0].code],
                  o.valueQuantity.value, o.valueQuantity.code, o.method.coding[0].code)
                 for o in rom)
    assert got == [("extension-deficit", "left", -5, "deg", "goniometer"),
                   ("flexion", "left", 110, "deg", "goniometer"),
                   ("flexion", "right", 125, "deg", "smartphone_app")]
    assert all(o.valueQuantity.system == "http://unitsofmeasure.org" for o in rom)
    deficit = next(o for o in rom if o.code.coding[0].code == "extension-deficit")
    assert deficit.code.coding[0].display.startswith("Knee extension deficit")


def test_exercise_sessions_are_physical_activity_observations(client, history):
    bundle = _bundle(client, history)
    sessions = _observations(bundle, LOINC, "73985-4")
    assert len(sessions) == 2
    walk = next(o for o in sessions if o.valueCodeableConcept.coding[0].code ==
                "backward_walking")
    assert walk.category[0].coding[0].code == "activity"
    comps = {c.code.coding[0].code: c for c in walk.component}
    assert comps["55411-3"].valueQuantity.value == 20
    assert comps["55411-3"].valueQuantity.code == "min"
    assert comps["falls"].valueInteger == 1 and comps["near-falls"].valueInteger == 2
    assert comps["distance"].valueQuantity.code == "m"
    assert walk.effectivePeriod.start.isoformat() == "2026-01-05T10:00:00+01:00"
    assert walk.effectivePeriod.end.isoformat() == "2026-01-05T10:20:00+01:00"
    assert "retro walk 3x20" in " ".join(n.text for n in walk.note)


def test_koos_jr_is_a_questionnaire_response_with_the_interval_score(client, history):
    bundle = _bundle(client, history)
    [qr] = [e.resource for e in bundle.entry if isinstance(e.resource, QuestionnaireResponse)]
    assert qr.status == "completed" and qr.questionnaire.endswith("82324-5")
    [group] = qr.item
    assert group.linkId == "82324-5"
    items = {i.linkId: i for i in group.item}
    assert float(items["82332-8"].answer[0].valueDecimal) == 70.7
    assert items["pain_stairs"].answer[0].valueInteger == 2
    assert len(items) == 8


def test_from_to_filters_and_ids_are_stable(client, history):
    full = _bundle(client, history)
    part = _bundle(client, history, "?from=2026-01-06&to=2026-01-06")
    pain = _observations(part, LOINC, "72514-3")
    assert [str(o.effectiveDateTime) for o in pain] == ["2026-01-06"]
    assert _observations(part, LOINC, "73985-4") == []
    assert len([e for e in part.entry if isinstance(e.resource, QuestionnaireResponse)]) == 1
    # The same record exports with the same resource ids (a receiver can update in place).
    assert {e.fullUrl for e in part.entry} < {e.fullUrl for e in full.entry}
    assert_problem(client.get("/v1/patients/me/export.fhir?from=2026-01-07&to=2026-01-06",
                              headers=history.headers), 422, "from")


def test_care_team_clinician_exports_deleted_entries_do_not(client, history, make_clinician,
                                                            link):
    doc = make_clinician()
    link(history, doc)
    client.delete("/v1/patients/me/symptom-entries/2026-01-06", headers=history.headers)
    bundle = _bundle(client, doc, pid=history.id)
    dates = {str(o.effectiveDateTime) for o in _observations(bundle, LOINC, "72514-3")}
    assert dates == {"2026-01-05"}


def test_empty_record_is_a_bundle_with_the_patient(client, make_patient):
    p = make_patient()
    bundle = _bundle(client, p)
    assert [type(e.resource).__name__ for e in bundle.entry] == ["Patient"]


def test_demo_patient_bundle_validates(client, app):
    from app.demo import CLINICIAN_EMAIL, load_demo
    from tests.conftest import Account, sign_in

    list(load_demo(password="demo-password-1"))  # the same password as the trends' demo test
    tokens = sign_in(client, CLINICIAN_EMAIL, "demo-password-1")
    doc = Account(id="", email=CLINICIAN_EMAIL, role="clinician",
                  token=tokens["access_token"], refresh_token=tokens["refresh_token"])
    panel = client.get("/v1/clinicians/me/patients", headers=doc.headers).json()["items"]
    maria = next(i for i in panel if i["display_name"] == "Maria Improving")
    bundle = _bundle(client, doc, pid=maria["patient_id"])
    walks = [o for o in _observations(bundle, LOINC, "73985-4")
             if o.valueCodeableConcept.coding[0].code == "backward_walking"]
    assert len(walks) >= 12 * 3
    falls = [c.valueInteger for o in walks for c in o.component
             if c.code.coding[0].code == "falls"]
    assert max(falls) >= 1
    assert len(_observations(bundle, LOINC, "72514-3")) >= 84


def test_the_export_has_the_shape_the_openapi_document_declares(client, history):
    """`FhirBundle` is what the document promises a typed client (components/schemas)."""
    from app.exports.schemas import FhirBundle

    r = client.get("/v1/patients/me/export.fhir", headers=history.headers)
    bundle = FhirBundle.model_validate_json(r.content)
    assert bundle.entry and {e.resource.resourceType for e in bundle.entry} >= {
        "Patient", "Observation"}
    assert all(e.fullUrl == f"urn:uuid:{e.resource.id}" for e in bundle.entry)


def _fhir_json(client, account, query: str = "") -> dict:
    r = client.get(f"/v1/patients/me/export.fhir{query}", headers=account.headers)
    assert r.status_code == 200, r.text
    return json.loads(r.content)


def test_a_transaction_bundle_loads_by_conditional_update(client, history):
    """`?type=transaction`: each entry is a PUT to `<type>?identifier=<system>|<value>` whose
    identifier the resource itself carries, so a FHIR server creates it when absent and
    replaces it otherwise (loading the export twice changes nothing), and the entries refer
    to one another by their `urn:uuid:` full URLs."""
    data = _fhir_json(client, history, "?type=transaction")
    bundle = Bundle.model_validate(data)
    assert bundle.type == "transaction" and bundle.meta.lastUpdated is not None
    full_urls = {e["fullUrl"] for e in data["entry"]}
    for e in data["entry"]:
        res, request = e["resource"], e["request"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        assert request["method"] == "PUT"
        kind, _, search = request["url"].partition("?identifier=")
        assert kind == res["resourceType"]
        system, _, value = search.partition("|")
        ids = res["identifier"] if isinstance(res["identifier"], list) else [res["identifier"]]
        assert {"system": system, "value": value} in ids, (request, ids)
        subject = res.get("subject", {}).get("reference")
        assert subject is None or subject in full_urls
    # The same export again: the same identifiers, so the same conditional targets.
    again = _fhir_json(client, history, "?type=transaction")
    assert [e["request"]["url"] for e in again["entry"]] == [
        e["request"]["url"] for e in data["entry"]]
    # The default stays a collection, without requests.
    plain = _fhir_json(client, history)
    assert plain["type"] == "collection" and all("request" not in e for e in plain["entry"])
    r = client.get("/v1/patients/me/export.fhir?type=batch", headers=history.headers)
    assert_problem(r, 422, "type")


def test_a_replaced_entry_is_amended_with_its_version(client, history):
    day = "2026-01-06"
    r = client.put(f"/v1/patients/me/symptom-entries/{day}", headers=history.headers,
                   json={"knees": {"left": {"pain": 3}}})
    assert r.status_code == 200
    observations = [e["resource"] for e in _fhir_json(client, history)["entry"]
                    if e["resource"]["resourceType"] == "Observation"]
    that_day = [o for o in observations if o.get("effectiveDateTime") == day]
    others = [o for o in observations if o.get("effectiveDateTime") == "2026-01-05"]
    assert that_day and all(
        o["status"] == "amended" and o["meta"]["versionId"] == "2" for o in that_day)
    assert others and all(o["status"] == "final" and o["meta"]["versionId"] == "1"
                          for o in others)


def test_plans_and_flag_episodes_are_exported(client, history, make_clinician, link, settle):
    clinician = make_clinician()
    link(history, clinician)
    plan = {"activity": "backward_walking", "minutes_per_session": 15, "sessions_per_week": 3,
            "start_date": "2026-01-01", "instructions": "Slowly, beside a rail."}
    r = client.post(f"/v1/patients/{history.id}/exercise-plans", headers=clinician.headers,
                    json=plan)
    assert r.status_code == 201, r.text
    settle()  # the fall on 2026-01-05 is a stored episode
    resources = [e["resource"] for e in _fhir_json(client, history)["entry"]]
    plans = [r for r in resources if r["resourceType"] == "CarePlan"]
    assert len(plans) == 1
    care_plan = get_fhir_model_class("CarePlan").model_validate(plans[0])
    assert care_plan.status == "active" and care_plan.intent == "plan"
    timing = plans[0]["activity"][0]["detail"]["scheduledTiming"]["repeat"]
    assert (timing["frequency"], timing["periodUnit"], timing["duration"]) == (3, "wk", 15)
    assert plans[0]["note"] == [{"text": "Slowly, beside a rail."}]
    flags = [r for r in resources if r["resourceType"] == "Flag"]
    stored = client.get(f"/v1/patients/{history.id}/flags",
                        headers=clinician.headers).json()["items"]
    assert len(flags) == len(stored) >= 1
    fall = next(f for f in flags if f["code"]["coding"][0]["code"] == "fall")
    get_fhir_model_class("Flag").model_validate(fall)
    assert fall["status"] == "active" and fall["period"]["start"] == "2026-01-05"
    assert "urgent" in {c["coding"][0]["code"] for c in fall["category"]}
