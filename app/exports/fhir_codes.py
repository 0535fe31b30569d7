"""The codes of the FHIR export: standard systems (LOINC, SNOMED CT, UCUM) where one names
the thing, KneeTrack code systems under `https://kneetrack.dev/fhir/` where none does.
docs/fhir-mapping.md lists every one."""

from __future__ import annotations

import uuid

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
BASE = "https://kneetrack.dev/fhir"
CS_ROM = f"{BASE}/CodeSystem/rom"
CS_ROM_METHOD = f"{BASE}/CodeSystem/rom-method"
CS_SYMPTOM = f"{BASE}/CodeSystem/symptom"
CS_SWELLING = f"{BASE}/CodeSystem/swelling-grade"
CS_DIARY = f"{BASE}/CodeSystem/diary"
CS_ACTIVITY = f"{BASE}/CodeSystem/activity"
CS_EXERCISE = f"{BASE}/CodeSystem/exercise"
CS_SETTING = f"{BASE}/CodeSystem/exercise-setting"
CS_ANALGESIC = f"{BASE}/CodeSystem/analgesic-kind"
CS_TREATMENT = f"{BASE}/CodeSystem/treatment"
CS_FUNCTION_TEST = f"{BASE}/CodeSystem/function-test"
CS_QUESTIONNAIRE = f"{BASE}/CodeSystem/questionnaire"
CS_FLAG_RULE = f"{BASE}/CodeSystem/flag-rule"
CS_FLAG_SEVERITY = f"{BASE}/CodeSystem/flag-severity"
PATIENT_ID_SYSTEM = f"{BASE}/sid/patient-id"

FHIR_JSON = "application/fhir+json"
_NS = uuid.UUID("5d3c8f0e-6a61-4f43-9a49-3c1b8f0b7a10")

# SNOMED CT body structures (International Edition): "Structure of left knee region" and
# "Structure of right knee region".
KNEE_SITES = {
    "left": {"code": "82169009", "display": "Structure of left knee region (body structure)"},
    "right": {"code": "6757004", "display": "Structure of right knee region (body structure)"},
}
PAIN = {
    "system": LOINC,
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
}
SYMPTOM = {"system": LOINC, "code": "75325-1", "display": "Symptom"}
SEVERITY = {"system": LOINC, "code": "64750-3", "display": "Severity of symptoms"}
EXERCISE_ACTIVITY = {"system": LOINC, "code": "73985-4", "display": "Exercise activity"}
EXERCISE_DURATION = {"system": LOINC, "code": "55411-3", "display": "Exercise duration"}
KOOS_JR = {
    "system": LOINC,
    "code": "82324-5",
    "display": "Knee injury and osteoarthritis outcome score for joint replacement [KOOSJR]",
}
KOOS_JR_SCORE = {"system": LOINC, "code": "82332-8", "display": "Total interval score [KOOSJR]"}
SWELLING_GRADES = ("none", "mild", "moderate", "severe")
ANALGESIC_DISPLAY = {
    "paracetamol": "Paracetamol (acetaminophen)",
    "nsaid_oral": "Oral NSAID",
    "nsaid_topical": "Topical NSAID",
    "opioid": "Opioid",
    "other": "Other analgesic",
}
ROM_METHOD_DISPLAY = {
    "self_estimate": "Self-estimate",
    "goniometer": "Goniometer",
    "inclinometer": "Inclinometer",
    "smartphone_app": "Smartphone app",
}

FUNCTION_TESTS = {  # test -> (display, unit, UCUM code)
    "chair_stand_30s": ("30-second chair stand test", "stands", "{stands}"),
    "tug": ("Timed Up and Go test", "seconds", "s"),
    "fast_walk_40m": ("40 m fast-paced walk test", "seconds", "s"),
    "stair_climb": ("Stair climb test", "seconds", "s"),
}
