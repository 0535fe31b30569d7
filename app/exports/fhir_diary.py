"""A diary entry as FHIR Observations: per knee pain, symptoms and range of motion; for
the day morning stiffness, flare, falls, analgesics and notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.exports.fhir_build import ObservationFactory, cc, instant, local, qty, score, stable_id
from app.exports.fhir_codes import (
    ANALGESIC_DISPLAY,
    CS_ANALGESIC,
    CS_DIARY,
    CS_ROM,
    CS_ROM_METHOD,
    CS_SWELLING,
    CS_SYMPTOM,
    KNEE_SITES,
    PAIN,
    ROM_METHOD_DISPLAY,
    SEVERITY,
    SNOMED,
    SWELLING_GRADES,
    SYMPTOM,
)
from app.exports.queries import knee_values


def symptom_resources(row: Any, patient_ref: str) -> Iterator[dict[str, Any]]:
    """The observations of one diary entry: per knee pain, stiffness, swelling, warmth, giving
    way, flexion and extension; for the day morning stiffness, flare and notes."""
    obs = ObservationFactory(
        patient_ref, row.entry_date.isoformat(), instant(row.recorded_at), row.version
    )
    for side in ("left", "right"):
        yield from _knee_resources(obs, row, side)
    yield from _day_resources(obs, row)


def knee_site(side: str) -> dict[str, Any]:
    return cc({"system": SNOMED, **KNEE_SITES[side]}, f"{side} knee")


def swelling_grade(grade: int) -> dict[str, Any]:
    return cc(local(CS_SWELLING, str(grade), SWELLING_GRADES[grade]))


SYMPTOM_DISPLAY = {"stiffness": "Stiffness", "swelling": "Swelling"}
NIGHT_PAIN = cc(local(CS_SYMPTOM, "night-pain", "Night pain (NRS 0-10)"))
KNEE_BOOLEANS = (("warmth", "Warmth"), ("giving_way", "Giving way"), ("locking", "Locking"))


def _knee_resources(obs: ObservationFactory, row: Any, side: str) -> Iterator[dict[str, Any]]:
    """One knee's observations of a diary entry."""
    site = knee_site(side)
    v = knee_values(row, side)
    key = (row.id, side)
    if v["pain"] is not None:
        yield obs.make(
            stable_id(*key, "pain"),
            "survey",
            cc(PAIN),
            valueQuantity=score(v["pain"]),
            bodySite=site,
        )
    severities: dict[str, dict[str, Any]] = {}
    if v["stiffness"] is not None:
        severities["stiffness"] = {"valueQuantity": score(v["stiffness"])}
    if v["swelling"] is not None:
        severities["swelling"] = {"valueCodeableConcept": swelling_grade(v["swelling"])}
    for symptom, severity in severities.items():
        yield obs.make(
            stable_id(*key, symptom),
            "survey",
            cc(SYMPTOM),
            valueCodeableConcept=cc(local(CS_SYMPTOM, symptom, SYMPTOM_DISPLAY[symptom])),
            bodySite=site,
            component=[{"code": cc(SEVERITY), **severity}],
        )
    if v["night_pain"] is not None:
        yield obs.make(
            stable_id(*key, "night_pain"),
            "survey",
            NIGHT_PAIN,
            valueQuantity=score(v["night_pain"]),
            bodySite=site,
        )
    for measure, display in KNEE_BOOLEANS:
        if v[measure] is not None:
            code = measure.replace("_", "-")
            yield obs.make(
                stable_id(*key, measure),
                "survey",
                cc(local(CS_SYMPTOM, code, display)),
                valueBoolean=v[measure],
                bodySite=site,
            )
    yield from _rom_resources(obs, v, key, site)


def _rom_resources(
    obs: ObservationFactory, v: dict[str, Any], key: tuple[Any, str], site: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Flexion and extension, with the measurement method when it is known."""
    method = {"method": rom_method(v["rom_method"])} if v["rom_method"] else {}
    # The API's `extension_degrees` is a deficit (degrees short of straight): its code and
    # display say so, so that a receiving system cannot read 10° as 10° of extension.
    for measure, code, display in ROM_MEASURES:
        if v[measure] is not None:
            yield obs.make(
                stable_id(*key, measure),  # the id stays that of the measure
                "exam",
                cc(local(CS_ROM, code, display)),
                valueQuantity=qty(v[measure], "degrees", "deg"),
                bodySite=site,
                **method,
            )


def rom_method(method: str) -> dict[str, Any]:
    return cc(local(CS_ROM_METHOD, method, ROM_METHOD_DISPLAY[method]))


ROM_MEASURES = (
    ("flexion", "flexion", "Knee flexion"),
    (
        "extension",
        "extension-deficit",
        "Knee extension deficit (degrees short of full extension; negative = hyperextension)",
    ),
)


# The day's observations (not a knee's), by the name of their id.
DAY_CODES = {
    "morning-stiffness": cc(local(CS_DIARY, "morning-stiffness", "Morning stiffness duration")),
    "flare": cc(local(CS_DIARY, "flare", "Self-reported flare")),
    "falls": cc(local(CS_DIARY, "falls", "Falls in daily life")),
    "analgesics": cc(local(CS_DIARY, "analgesic-doses", "Analgesic doses taken")),
    "notes": cc(local(CS_DIARY, "notes", "Diary notes")),
}


def analgesic_kind(kind: str) -> dict[str, Any]:
    """The component that names one kind of analgesic taken."""
    return {
        "code": cc(local(CS_DIARY, "analgesic-kind", "Analgesic kind")),
        "valueCodeableConcept": cc(local(CS_ANALGESIC, kind, ANALGESIC_DISPLAY[kind])),
    }


def _day_resources(obs: ObservationFactory, row: Any) -> Iterator[dict[str, Any]]:
    """The observations of a diary entry that belong to the day, not to a knee."""
    if row.morning_stiffness_minutes is not None:
        yield obs.make(
            stable_id(row.id, "morning-stiffness"),
            "survey",
            DAY_CODES["morning-stiffness"],
            valueQuantity=qty(row.morning_stiffness_minutes, "minutes", "min"),
        )
    if row.flare is not None:
        yield obs.make(
            stable_id(row.id, "flare"),
            "survey",
            DAY_CODES["flare"],
            valueBoolean=row.flare,
        )
    if row.falls is not None:
        yield obs.make(
            stable_id(row.id, "falls"),
            "survey",
            DAY_CODES["falls"],
            valueInteger=row.falls,
        )
    if row.analgesic_doses is not None:
        kinds = [analgesic_kind(k) for k in row.analgesic_kinds or []]
        yield obs.make(
            stable_id(row.id, "analgesics"),
            "survey",
            DAY_CODES["analgesics"],
            valueInteger=row.analgesic_doses,
            **({"component": kinds} if kinds else {}),
        )
    if row.notes:
        yield obs.make(
            stable_id(row.id, "notes"),
            "survey",
            DAY_CODES["notes"],
            valueString=row.notes,
        )
