"""The building blocks of FHIR resources: codeable concepts, quantities, categories,
instants, stable ids and the observation factory."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from app.exports.fhir_codes import (
    _NS,
    OBS_CATEGORY,
    UCUM,
)

# Version 5 (name-based, SHA-1) UUIDs of RFC 4122, as `uuid.uuid5(_NS, name)` makes them: the
# SHA-1 of the namespace's 16 bytes then the name (UTF-8), its first 16 bytes with the version
# nibble set to 5 and the variant's two top bits to 10. Formatted here from the hex digest, at
# a fifth of uuid5's cost: the namespace is hashed once, and ids whose names start alike (the
# observations of one diary entry) share the hash of that start.
_NS_SHA1 = hashlib.sha1(_NS.bytes, usedforsecurity=False)
_VARIANT = {f"{n:x}": f"{0b1000 | n & 0b0011:x}" for n in range(16)}


class IdSpace:
    """The stable ids of the names that start with `prefix`."""

    __slots__ = ("_sha1",)

    def __init__(self, prefix: str = "") -> None:
        self._sha1 = _NS_SHA1.copy()
        self._sha1.update(prefix.encode())

    def id(self, rest: bytes) -> str:
        """The id of the name `prefix` + `rest` (UTF-8)."""
        sha1 = self._sha1.copy()
        sha1.update(rest)
        x = sha1.hexdigest()
        return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


_ROOT = IdSpace()


def stable_id(*parts: object) -> str:
    """`str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))`."""
    return _ROOT.id("/".join(str(p) for p in parts).encode())


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
