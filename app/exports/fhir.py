"""The FHIR R4 export: a `Bundle` of type `collection`, built as plain JSON and streamed entry
by entry. Every code used is listed in docs/fhir-mapping.md.

Standard codes are used where one exists (LOINC for the observation kinds, SNOMED CT for the
knee, UCUM for units); what no standard code names (the ROM measures, the measurement method,
the activity, falls) has a code in a KneeTrack code system under `https://kneetrack.dev/fhir/`.
Resource ids are stable: derived from the row's id, so that exporting twice gives the same ids
and a receiving system can update rather than duplicate.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from app.exports.csv import describe_exercises
from app.exports.queries import knee_values

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


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def _cc(coding: dict[str, str], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def _local(system: str, code: str, display: str | None = None) -> dict[str, str]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]}]


def _qty(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _score(value: float) -> dict[str, Any]:
    return _qty(value, "score", "{score}")


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def patient_resource(
    *,
    patient_id: uuid.UUID,
    display_name: str,
    sex: str | None,
    birth_year: int | None,
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient_id),
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(patient_id)}],
        "name": [{"text": display_name}],
    }
    if sex is not None:  # KneeTrack's values are FHIR's AdministrativeGender codes
        res["gender"] = sex
    if birth_year is not None:
        res["birthDate"] = f"{birth_year:04d}"
    return res


class ObservationFactory:
    """Observations about one patient on one day."""

    def __init__(self, patient_ref: str, effective: str, issued: str) -> None:
        self.patient_ref = patient_ref
        self.effective = effective
        self.issued = issued

    def make(self, oid: str, category: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "category": _category(category),
            "code": code,
            "subject": {"reference": self.patient_ref},
            "effectiveDateTime": self.effective,
            "issued": self.issued,
            **fields,
        }


def symptom_resources(row: Any, patient_ref: str) -> Iterator[dict[str, Any]]:
    """The observations of one diary entry: per knee pain, stiffness, swelling, warmth, giving
    way, flexion and extension; for the day morning stiffness, flare and notes."""
    day = row.entry_date.isoformat()
    obs = ObservationFactory(patient_ref, day, _instant(row.recorded_at))
    for side in ("left", "right"):
        site = _cc({"system": SNOMED, **KNEE_SITES[side]}, f"{side} knee")
        v = knee_values(row, side)
        key = (row.id, side)
        if v["pain"] is not None:
            yield obs.make(
                stable_id(*key, "pain"),
                "survey",
                _cc(PAIN),
                valueQuantity=_score(v["pain"]),
                bodySite=site,
            )
        severities: dict[str, tuple[str, dict[str, Any]]] = {}
        if v["stiffness"] is not None:
            severities["stiffness"] = ("Stiffness", {"valueQuantity": _score(v["stiffness"])})
        if v["swelling"] is not None:
            grade = _local(CS_SWELLING, str(v["swelling"]), SWELLING_GRADES[v["swelling"]])
            severities["swelling"] = ("Swelling", {"valueCodeableConcept": _cc(grade)})
        for symptom, (display, severity) in severities.items():
            yield obs.make(
                stable_id(*key, symptom),
                "survey",
                _cc(SYMPTOM),
                valueCodeableConcept=_cc(_local(CS_SYMPTOM, symptom, display)),
                bodySite=site,
                component=[{"code": _cc(SEVERITY), **severity}],
            )
        if v["night_pain"] is not None:
            yield obs.make(
                stable_id(*key, "night_pain"),
                "survey",
                _cc(_local(CS_SYMPTOM, "night-pain", "Night pain (NRS 0-10)")),
                valueQuantity=_score(v["night_pain"]),
                bodySite=site,
            )
        for measure, display in (
            ("warmth", "Warmth"),
            ("giving_way", "Giving way"),
            ("locking", "Locking"),
        ):
            if v[measure] is not None:
                code = measure.replace("_", "-")
                yield obs.make(
                    stable_id(*key, measure),
                    "survey",
                    _cc(_local(CS_SYMPTOM, code, display)),
                    valueBoolean=v[measure],
                    bodySite=site,
                )
        method = (
            {
                "method": _cc(
                    _local(CS_ROM_METHOD, v["rom_method"], ROM_METHOD_DISPLAY[v["rom_method"]])
                )
            }
            if v["rom_method"]
            else {}
        )
        for measure, display in (("flexion", "Knee flexion"), ("extension", "Knee extension")):
            if v[measure] is not None:
                yield obs.make(
                    stable_id(*key, measure),
                    "exam",
                    _cc(_local(CS_ROM, measure, display)),
                    valueQuantity=_qty(v[measure], "degrees", "deg"),
                    bodySite=site,
                    **method,
                )
    if row.morning_stiffness_minutes is not None:
        yield obs.make(
            stable_id(row.id, "morning-stiffness"),
            "survey",
            _cc(_local(CS_DIARY, "morning-stiffness", "Morning stiffness duration")),
            valueQuantity=_qty(row.morning_stiffness_minutes, "minutes", "min"),
        )
    if row.flare is not None:
        yield obs.make(
            stable_id(row.id, "flare"),
            "survey",
            _cc(_local(CS_DIARY, "flare", "Self-reported flare")),
            valueBoolean=row.flare,
        )
    if row.falls is not None:
        yield obs.make(
            stable_id(row.id, "falls"),
            "survey",
            _cc(_local(CS_DIARY, "falls", "Falls in daily life")),
            valueInteger=row.falls,
        )
    if row.analgesic_doses is not None:
        kinds = [
            {
                "code": _cc(_local(CS_DIARY, "analgesic-kind", "Analgesic kind")),
                "valueCodeableConcept": _cc(_local(CS_ANALGESIC, k, ANALGESIC_DISPLAY[k])),
            }
            for k in row.analgesic_kinds or []
        ]
        yield obs.make(
            stable_id(row.id, "analgesics"),
            "survey",
            _cc(_local(CS_DIARY, "analgesic-doses", "Analgesic doses taken")),
            valueInteger=row.analgesic_doses,
            **({"component": kinds} if kinds else {}),
        )
    if row.notes:
        yield obs.make(
            stable_id(row.id, "notes"),
            "survey",
            _cc(_local(CS_DIARY, "notes", "Diary notes")),
            valueString=row.notes,
        )


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": _cc(_local(CS_EXERCISE, code, display)), **value}


def session_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """One exercise session: LOINC 73985-4 with the activity as its value, the duration as a
    55411-3 component (minutes); falls, near falls and the rest as KneeTrack components."""
    offset = dt.timezone(dt.timedelta(minutes=row.utc_offset_minutes))
    start = row.started_at.astimezone(offset)
    end = start + dt.timedelta(minutes=row.duration_minutes)
    components: list[dict[str, Any]] = [
        {
            "code": _cc(EXERCISE_DURATION),
            "valueQuantity": _qty(row.duration_minutes, "minutes", "min"),
        },
    ]
    for name, display in (("falls", "Falls"), ("near_falls", "Near falls"), ("steps", "Steps")):
        value = getattr(row, name)
        if value is not None:
            components.append(_component(name.replace("_", "-"), display, valueInteger=value))
    if row.distance_m is not None:
        components.append(
            _component("distance", "Distance", valueQuantity=_qty(row.distance_m, "metres", "m"))
        )
    for name, display in (
        ("rpe", "Rating of perceived exertion (Borg CR10)"),
        ("pain_before", "Pain before (NRS 0-10)"),
        ("pain_after", "Pain after (NRS 0-10)"),
    ):
        value = getattr(row, name)
        if value is not None:
            components.append(
                _component(name.replace("_", "-"), display, valueQuantity=_score(value))
            )
    if row.setting is not None:
        components.append(
            _component(
                "setting", "Setting", valueCodeableConcept=_cc(_local(CS_SETTING, row.setting))
            )
        )
    if row.supervised is not None:
        components.append(_component("supervised", "Supervised", valueBoolean=row.supervised))
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": stable_id(row.id, "session"),
        "status": "final",
        "category": _category("activity"),
        "code": _cc(EXERCISE_ACTIVITY),
        "subject": {"reference": patient_ref},
        "effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()},
        "valueCodeableConcept": _cc(
            _local(CS_ACTIVITY, row.activity, row.activity.replace("_", " ").capitalize())
        ),
        "component": components,
    }
    notes = [row.notes] if row.notes else []
    exercises = describe_exercises(row.exercises)
    if exercises:
        notes.append(f"Exercises: {exercises}")
    if notes:
        res["note"] = [{"text": n} for n in notes]
    return res


def koos_jr_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A KOOS-JR as a QuestionnaireResponse: the seven answers (0-4) and the interval score."""
    items: list[dict[str, Any]] = [
        {"linkId": key, "answer": [{"valueInteger": value}]}
        for key, value in sorted(row.answers.items())
    ]
    if row.score is not None:
        items.append(
            {
                "linkId": KOOS_JR_SCORE["code"],
                "definition": f"http://loinc.org/rdf#{KOOS_JR_SCORE['code']}",
                "text": KOOS_JR_SCORE["display"],
                "answer": [{"valueDecimal": row.score}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": stable_id(row.id, "koos-jr"),
        "questionnaire": f"http://loinc.org/q/{KOOS_JR['code']}",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": row.completed_on.isoformat(),
        "item": [
            {
                "linkId": KOOS_JR["code"],
                "definition": f"http://loinc.org/rdf#{KOOS_JR['code']}",
                "text": KOOS_JR["display"],
                "item": items,
            }
        ],
    }


# Treatment kinds: (display, SNOMED CT coding where one was found that means the same thing).
# Only "Arthroscopy of knee joint" (309431009) was found; SNOMED's "Total knee replacement"
# (609588000) is not used for `arthroplasty`, which may be partial (docs/fhir-mapping.md).
TREATMENTS: dict[str, tuple[str, dict[str, str] | None]] = {
    "steroid_injection": ("Intra-articular corticosteroid injection", None),
    "hyaluronic_injection": ("Intra-articular hyaluronic acid injection", None),
    "prp_injection": ("Intra-articular platelet-rich plasma injection", None),
    "genicular_artery_embolisation": ("Genicular artery embolisation", None),
    "arthroscopy": (
        "Arthroscopy of knee joint",
        {"system": SNOMED, "code": "309431009", "display": "Arthroscopy of knee joint"},
    ),
    "arthroplasty": ("Knee arthroplasty", None),
    "other": ("Other knee treatment", None),
}
FUNCTION_TESTS = {  # test -> (display, unit, UCUM code)
    "chair_stand_30s": ("30-second chair stand test", "stands", "{stands}"),
    "tug": ("Timed Up and Go test", "seconds", "s"),
    "fast_walk_40m": ("40 m fast-paced walk test", "seconds", "s"),
    "stair_climb": ("Stair climb test", "seconds", "s"),
}


def procedure_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A treatment as a completed Procedure on the knee (or both knees)."""
    display, snomed = TREATMENTS[row.kind]
    codings = [_local(CS_TREATMENT, row.kind, display), *([snomed] if snomed else [])]
    sides = ("left", "right") if row.knee == "both" else (row.knee,)
    res: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": stable_id(row.id, "procedure"),
        "status": "completed",
        "code": {"coding": codings, "text": display},
        "subject": {"reference": patient_ref},
        "performedDateTime": row.date.isoformat(),
        "bodySite": [_cc({"system": SNOMED, **KNEE_SITES[s]}, f"{s} knee") for s in sides],
    }
    if row.notes:
        res["note"] = [{"text": row.notes}]
    return res


def function_test_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    display, unit, code = FUNCTION_TESTS[row.test]
    value = int(row.value) if row.test == "chair_stand_30s" else row.value
    obs = ObservationFactory(patient_ref, row.performed_on.isoformat(), "")
    res = obs.make(
        stable_id(row.id, "function-test"),
        "exam",
        _cc(_local(CS_FUNCTION_TEST, row.test, display)),
        valueQuantity=_qty(value, unit, code),
    )
    del res["issued"]
    if row.supervised is not None:
        res["component"] = [
            {
                "code": _cc(_local(CS_FUNCTION_TEST, "supervised", "Supervised")),
                "valueBoolean": row.supervised,
            }
        ]
    return res


def single_item_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A PGIC (value 1-7) or PASS (acceptable: true/false) answer as an Observation."""
    obs = ObservationFactory(patient_ref, row.completed_on.isoformat(), "")
    if row.instrument == "pgic":
        code = _local(CS_QUESTIONNAIRE, "pgic", "Patient global impression of change (1-7)")
        value: dict[str, Any] = {"valueInteger": int(row.score)}
    else:
        code = _local(CS_QUESTIONNAIRE, "pass", "Patient acceptable symptom state")
        value = {"valueBoolean": bool(row.score)}
    res = obs.make(stable_id(row.id, row.instrument), "survey", _cc(code), **value)
    del res["issued"]
    return res


def bundle_chunks(
    *,
    bundle_id: str,
    timestamp: dt.datetime,
    resources: Iterable[dict[str, Any]],
    chunk_bytes: int = 64 * 1024,
) -> Iterator[bytes]:
    """The Bundle as JSON, built entry by entry and sent in chunks of about `chunk_bytes`: the
    whole document is never held in memory."""
    head = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "timestamp": _instant(timestamp),
    }
    parts = [orjson.dumps(head)[:-1], b',"entry":[']
    size = 0
    separator = b""
    for res in resources:
        part = separator + orjson.dumps({"fullUrl": f"urn:uuid:{res['id']}", "resource": res})
        separator = b","
        parts.append(part)
        size += len(part)
        if size >= chunk_bytes:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"]}")
    yield b"".join(parts)
