"""The building blocks of FHIR resources: codeable concepts, quantities, categories,
instants, stable ids and the observation factory."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from app.exports.fhir_codes import (
    _NS,
    OBS_CATEGORY,
    UCUM,
)


def stable_id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def cc(coding: dict[str, str], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def local(system: str, code: str, display: str | None = None) -> dict[str, str]:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


def categories(code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code}]}]


def qty(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def score(value: float) -> dict[str, Any]:
    return qty(value, "score", "{score}")


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def versioned(version: int | None) -> dict[str, Any]:
    """`status` and `meta.versionId` of a record kept with versions: `amended` once it was
    replaced after it was first written (FHIR R4 ObservationStatus), with the version."""
    if version is None:
        return {"status": "final"}
    return {
        "meta": {"versionId": str(version)},
        "status": "amended" if version > 1 else "final",
    }


class ObservationFactory:
    """Observations about one patient on one day."""

    def __init__(
        self, patient_ref: str, effective: str, issued: str, version: int | None = None
    ) -> None:
        self.patient_ref = patient_ref
        self.effective = effective
        self.issued = issued
        self.version = version

    def make(self, oid: str, category: str, code: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": oid,
            **versioned(self.version),
            "category": categories(category),
            "code": code,
            "subject": {"reference": self.patient_ref},
            "effectiveDateTime": self.effective,
            "issued": self.issued,
            **fields,
        }
