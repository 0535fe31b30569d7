"""A diary entry's Bundle entries as bytes, spliced together from fragments serialised once.

An observation of a diary entry is the same JSON as that observation on any other day except
in a few places: its id (in `fullUrl`, `id`, `identifier` and a transaction's `request`),
`meta.versionId` and `status`, the subject, `effectiveDateTime`, `issued` and the value. At
import, for each kind of observation (a knee's measure, the day's), the JSON around those
places is serialised with orjson from fhir_diary's building blocks, and the entry's wrapper
from `fhir._entry` itself; a row then only joins its own parts in (values through orjson).

The bytes are those of `orjson.dumps(fhir._entry(res, bundle_type))` for each resource that
`fhir_diary.symptom_resources` builds, in the same order: that builder is the reference, and
tests/exports/test_fhir_fast.py holds the two equal over varied rows. Two years of daily
entries (16k observations) cost about a quarter of the CPU that building the dicts and
serialising them does (24 ms against 102).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple, get_args

import orjson

from app.exports.fhir import BundleType, _entry
from app.exports.fhir_build import IdSpace, categories, cc, instant, local, qty, score, versioned
from app.exports.fhir_codes import (
    ANALGESIC_DISPLAY,
    CS_ROM,
    CS_SYMPTOM,
    PAIN,
    ROM_METHOD_DISPLAY,
    SEVERITY,
    SWELLING_GRADES,
    SYMPTOM,
)
from app.exports.fhir_diary import (
    DAY_CODES,
    KNEE_BOOLEANS,
    NIGHT_PAIN,
    ROM_MEASURES,
    SYMPTOM_DISPLAY,
    analgesic_kind,
    knee_site,
    rom_method,
    swelling_grade,
)

# Stand-ins, in the fragments serialised at import, for what each row fills in. `Any`: the
# value's stand-in takes the place of numbers, booleans and strings alike.
_VALUE: Any = "\x00value"
_ID = "\x00id"
_BODY = "\x00body"


def _members(obj: dict[str, Any]) -> bytes:
    """The object's members as JSON, without its braces: `"a":1,"b":2`."""
    return orjson.dumps(obj)[1:-1]


def _cut(fragment: bytes, at: bytes, times: int) -> list[bytes]:
    pieces = fragment.split(at)
    if len(pieces) != times + 1:
        raise ValueError(f"{at!r} is not {times} times in {fragment!r}")
    return pieces


class _Wrapper(NamedTuple):
    """`_entry`'s bytes around an Observation's members, cut where its id goes."""

    url: bytes  # {"fullUrl":"urn:uuid:
    resource: bytes  # ","resource":{"resourceType":"Observation","id":"
    version: bytes  # ", (then the members from meta or status on)
    identifier: bytes  # ,"identifier":[{"system":"…","value":"
    tail: tuple[bytes, ...]  # the rest, cut at the ids (in a transaction's request)


def _wrapper(bundle_type: BundleType) -> _Wrapper:
    probe = {"resourceType": "Observation", "id": _ID, _BODY: None}
    serialised = orjson.dumps(_entry(probe, bundle_type))
    before, after = _cut(serialised, _members({_BODY: None}), 1)
    oid = orjson.dumps(_ID)[1:-1]
    url, resource, version = _cut(before, oid, 2)
    identifier, *tail = _cut(after, oid, 1 if bundle_type == "collection" else 2)
    return _Wrapper(url, resource, version, identifier, tuple(tail))


_WRAPPERS = {bundle_type: _wrapper(bundle_type) for bundle_type in get_args(BundleType)}


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of observation, serialised around what varies."""

    name: bytes  # the name of its id after "<row id>/", e.g. b"left/pain"
    code: bytes  # ,"category":…,"code":…,
    before: bytes  # the members after `issued` up to the value
    after: bytes  # the members after the value
    value: Callable[[Any], bytes]  # the JSON of the row's value


def _kind(
    name: str,
    category: str,
    code: dict[str, Any],
    value: Callable[[Any], bytes] = orjson.dumps,
    **members: Any,
) -> _Kind:
    before, after = _cut(_members(members), orjson.dumps(_VALUE), 1)
    head = _members({"category": categories(category), "code": code})
    return _Kind(name.encode(), b"," + head + b",", b"," + before, after, value)


_GRADES = {grade: orjson.dumps(swelling_grade(grade)) for grade in range(len(SWELLING_GRADES))}
_ANALGESICS = {kind: orjson.dumps(analgesic_kind(kind)) for kind in ANALGESIC_DISPLAY}
_COMPONENTS = _cut(_members({"component": [_VALUE]}), orjson.dumps(_VALUE), 1)


def _knee_kinds(side: str) -> dict[str | None, tuple[_Kind, ...]]:
    """A knee's kinds in the order of `_KNEE_COLUMNS`, by ROM method (None: none known)."""
    site = knee_site(side)

    def symptom(name: str, value: Callable[[Any], bytes], **severity: Any) -> _Kind:
        concept = cc(local(CS_SYMPTOM, name, SYMPTOM_DISPLAY[name]))
        return _kind(
            f"{side}/{name}",
            "survey",
            cc(SYMPTOM),
            value,
            valueCodeableConcept=concept,
            bodySite=site,
            component=[{"code": cc(SEVERITY), **severity}],
        )

    kinds = (
        _kind(f"{side}/pain", "survey", cc(PAIN), valueQuantity=score(_VALUE), bodySite=site),
        symptom("stiffness", orjson.dumps, valueQuantity=score(_VALUE)),
        symptom("swelling", _GRADES.__getitem__, valueCodeableConcept=_VALUE),
        _kind(
            f"{side}/night_pain", "survey", NIGHT_PAIN, valueQuantity=score(_VALUE), bodySite=site
        ),
        *(
            _kind(
                f"{side}/{measure}",
                "survey",
                cc(local(CS_SYMPTOM, measure.replace("_", "-"), display)),
                valueBoolean=_VALUE,
                bodySite=site,
            )
            for measure, display in KNEE_BOOLEANS
        ),
    )
    by_method: dict[str | None, tuple[_Kind, ...]] = {}
    for method in (None, *ROM_METHOD_DISPLAY):
        extra: dict[str, Any] = {"method": rom_method(method)} if method else {}
        by_method[method] = kinds + tuple(
            _kind(
                f"{side}/{measure}",
                "exam",
                cc(local(CS_ROM, code, display)),
                valueQuantity=qty(_VALUE, "degrees", "deg"),
                bodySite=site,
                **extra,
            )
            for measure, code, display in ROM_MEASURES
        )
    return by_method


_KNEE_COLUMNS = (
    *("pain", "stiffness", "swelling", "night_pain"),
    *(measure for measure, _ in KNEE_BOOLEANS),
    *(measure for measure, _, _ in ROM_MEASURES),
)
_KNEES = tuple(
    (
        itemgetter(*(f"{side}_{column}" for column in _KNEE_COLUMNS)),
        itemgetter(f"{side}_rom_method"),
        _knee_kinds(side),
    )
    for side in ("left", "right")
)
_DAY_VALUES = itemgetter("morning_stiffness_minutes", "flare", "falls")
_DAY = (
    _kind(
        "morning-stiffness",
        "survey",
        DAY_CODES["morning-stiffness"],
        valueQuantity=qty(_VALUE, "minutes", "min"),
    ),
    _kind("flare", "survey", DAY_CODES["flare"], valueBoolean=_VALUE),
    _kind("falls", "survey", DAY_CODES["falls"], valueInteger=_VALUE),
)
# The components of the analgesic kinds follow the value: they are joined onto it.
_ANALGESIC_DOSES = _kind("analgesics", "survey", DAY_CODES["analgesics"], valueInteger=_VALUE)
_NOTES = _kind("notes", "survey", DAY_CODES["notes"], valueString=_VALUE)


class DiaryEntries:
    """The Bundle entries of diary rows, for one export."""

    def __init__(self, patient_ref: str, bundle_type: BundleType) -> None:
        self._subject = {"reference": patient_ref}
        wrapper = _WRAPPERS[bundle_type]
        self._wrapper = wrapper
        self._closing = (wrapper.identifier, *wrapper.tail)

    def of(self, row: Mapping[Any, Any]) -> list[bytes]:
        """The entries of a diary row's observations, in `symptom_resources`' order. `row`: its
        columns by name (`Row._mapping`: far cheaper to read than the Row's attributes)."""
        ids = IdSpace(f"{row['id']}/")
        url, resource = self._wrapper.url, self._wrapper.resource
        version = self._wrapper.version + _members(versioned(row["version"]))
        context = _members(
            {
                "subject": self._subject,
                "effectiveDateTime": row["entry_date"].isoformat(),
                "issued": instant(row["recorded_at"]),
            }
        )
        closing = self._closing

        def entry(kind: _Kind, value: bytes) -> bytes:
            oid = ids.id(kind.name).encode()
            return b"".join(
                (url, oid, resource, oid, version, kind.code, context, kind.before, value,
                 kind.after, oid.join(closing))
            )  # fmt: skip

        out = []
        for values, method, by_method in _KNEES:
            for kind, value in zip(by_method[method(row) or None], values(row), strict=True):
                if value is not None:
                    out.append(entry(kind, kind.value(value)))
        for kind, value in zip(_DAY, _DAY_VALUES(row), strict=True):
            if value is not None:
                out.append(entry(kind, kind.value(value)))
        if row["analgesic_doses"] is not None:
            doses = orjson.dumps(row["analgesic_doses"])
            if row["analgesic_kinds"]:
                kinds = b",".join(_ANALGESICS[k] for k in row["analgesic_kinds"])
                doses += b"," + kinds.join(_COMPONENTS)
            out.append(entry(_ANALGESIC_DOSES, doses))
        if row["notes"]:
            out.append(entry(_NOTES, orjson.dumps(row["notes"])))
        return out
