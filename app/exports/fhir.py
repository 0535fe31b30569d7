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
from typing import Any, Literal

import orjson

from app.exports.csv import describe_exercises
from app.exports.fhir_build import (
    ObservationFactory,
    categories,
    cc,
    instant,
    local,
    qty,
    score,
    stable_id,
    versioned,
)
from app.exports.fhir_codes import (
    CS_ACTIVITY,
    CS_EXERCISE,
    CS_FUNCTION_TEST,
    CS_QUESTIONNAIRE,
    CS_SETTING,
    CS_TREATMENT,
    EXERCISE_ACTIVITY,
    EXERCISE_DURATION,
    FUNCTION_TESTS,
    KNEE_SITES,
    KOOS_JR,
    KOOS_JR_SCORE,
    PATIENT_ID_SYSTEM,
    SNOMED,
)


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


def _component(code: str, display: str, **value: Any) -> dict[str, Any]:
    return {"code": cc(local(CS_EXERCISE, code, display)), **value}


def session_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """One exercise session: LOINC 73985-4 with the activity as its value, the duration as a
    55411-3 component (minutes); falls, near falls and the rest as KneeTrack components."""
    offset = dt.timezone(dt.timedelta(minutes=row.utc_offset_minutes))
    start = row.started_at.astimezone(offset)
    end = start + dt.timedelta(minutes=row.duration_minutes)
    components: list[dict[str, Any]] = [
        {
            "code": cc(EXERCISE_DURATION),
            "valueQuantity": qty(row.duration_minutes, "minutes", "min"),
        },
    ]
    for name, display in (("falls", "Falls"), ("near_falls", "Near falls"), ("steps", "Steps")):
        value = getattr(row, name)
        if value is not None:
            components.append(_component(name.replace("_", "-"), display, valueInteger=value))
    if row.distance_m is not None:
        components.append(
            _component("distance", "Distance", valueQuantity=qty(row.distance_m, "metres", "m"))
        )
    for name, display in (
        ("rpe", "Rating of perceived exertion (Borg CR10)"),
        ("pain_before", "Pain before (NRS 0-10)"),
        ("pain_after", "Pain after (NRS 0-10)"),
    ):
        value = getattr(row, name)
        if value is not None:
            components.append(
                _component(name.replace("_", "-"), display, valueQuantity=score(value))
            )
    if row.setting is not None:
        components.append(
            _component(
                "setting", "Setting", valueCodeableConcept=cc(local(CS_SETTING, row.setting))
            )
        )
    if row.supervised is not None:
        components.append(_component("supervised", "Supervised", valueBoolean=row.supervised))
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": stable_id(row.id, "session"),
        **versioned(row.version),
        "category": categories("activity"),
        "code": cc(EXERCISE_ACTIVITY),
        "subject": {"reference": patient_ref},
        "effectivePeriod": {"start": start.isoformat(), "end": end.isoformat()},
        "valueCodeableConcept": cc(
            local(CS_ACTIVITY, row.activity, row.activity.replace("_", " ").capitalize())
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


def procedure_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A treatment as a completed Procedure on the knee (or both knees)."""
    display, snomed = TREATMENTS[row.kind]
    codings = [local(CS_TREATMENT, row.kind, display), *([snomed] if snomed else [])]
    sides = ("left", "right") if row.knee == "both" else (row.knee,)
    res: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": stable_id(row.id, "procedure"),
        "status": "completed",
        "code": {"coding": codings, "text": display},
        "subject": {"reference": patient_ref},
        "performedDateTime": row.date.isoformat(),
        "bodySite": [cc({"system": SNOMED, **KNEE_SITES[s]}, f"{s} knee") for s in sides],
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
        cc(local(CS_FUNCTION_TEST, row.test, display)),
        valueQuantity=qty(value, unit, code),
    )
    del res["issued"]
    if row.supervised is not None:
        res["component"] = [
            {
                "code": cc(local(CS_FUNCTION_TEST, "supervised", "Supervised")),
                "valueBoolean": row.supervised,
            }
        ]
    return res


def single_item_resource(row: Any, patient_ref: str) -> dict[str, Any]:
    """A PGIC (value 1-7) or PASS (acceptable: true/false) answer as an Observation."""
    obs = ObservationFactory(patient_ref, row.completed_on.isoformat(), "")
    if row.instrument == "pgic":
        code = local(CS_QUESTIONNAIRE, "pgic", "Patient global impression of change (1-7)")
        value: dict[str, Any] = {"valueInteger": int(row.score)}
    else:
        code = local(CS_QUESTIONNAIRE, "pass", "Patient acceptable symptom state")
        value = {"valueBoolean": bool(row.score)}
    res = obs.make(stable_id(row.id, row.instrument), "survey", cc(code), **value)
    del res["issued"]
    return res


BundleType = Literal["collection", "transaction"]
RESOURCE_ID_SYSTEM = "https://kneetrack.dev/fhir/resource-id"


def _identified(res: dict[str, Any]) -> tuple[str, str]:
    """Give the resource a business identifier (its KneeTrack id) unless it has one; return
    the (system, value) a server can find it by."""
    if res["resourceType"] == "Patient":
        first = res["identifier"][0]
        return first["system"], first["value"]
    identifier = {"system": RESOURCE_ID_SYSTEM, "value": res["id"]}
    # QuestionnaireResponse.identifier is one Identifier in R4; elsewhere a list.
    if res["resourceType"] == "QuestionnaireResponse":
        res.setdefault("identifier", identifier)
    else:
        res.setdefault("identifier", [identifier])
    return RESOURCE_ID_SYSTEM, res["id"]


def _entry(res: dict[str, Any], bundle_type: BundleType) -> dict[str, Any]:
    system, value = _identified(res)
    entry: dict[str, Any] = {"fullUrl": f"urn:uuid:{res['id']}", "resource": res}
    if bundle_type == "transaction":
        # A conditional update (create when absent, else replace), found by the identifier:
        # loading the same export twice changes nothing, and an entry amended since the last
        # load replaces its earlier version. References between entries use the `urn:uuid:`
        # full URLs, which the server rewrites to the ids it assigns.
        entry["request"] = {
            "method": "PUT",
            "url": f"{res['resourceType']}?identifier={system}|{value}",
        }
    return entry


def bundle_chunks(
    *,
    bundle_id: str,
    timestamp: dt.datetime,
    resources: Iterable[dict[str, Any] | bytes],
    bundle_type: BundleType = "collection",
    chunk_bytes: int = 64 * 1024,
) -> Iterator[bytes]:
    """The Bundle as JSON, built entry by entry and sent in chunks of about `chunk_bytes`: the
    whole document is never held in memory. A resource may come as its entry serialised
    already (bytes: fhir_fast's diary entries)."""
    head = {
        "resourceType": "Bundle",
        "id": bundle_id,
        "meta": {"lastUpdated": instant(timestamp)},
        "type": bundle_type,
        "timestamp": instant(timestamp),
    }
    parts = [orjson.dumps(head)[:-1], b',"entry":[']
    size = 0
    separator = b""
    for res in resources:
        entry = res if isinstance(res, bytes) else orjson.dumps(_entry(res, bundle_type))
        parts += (separator, entry)
        size += len(separator) + len(entry)
        separator = b","
        if size >= chunk_bytes:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"]}")
    yield b"".join(parts)
