"""The FHIR export's fast paths against their references: `stable_id` against `uuid.uuid5`, and
fhir_fast's diary entries against `orjson.dumps(_entry(res, bundle_type))` of the resources
that fhir_diary's dict builders make, byte for byte."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.diary.vocabulary import ANALGESIC_KINDS, KNEE_COLUMN_SUFFIXES, ROM_METHODS, SIDES
from app.exports import fhir, queries, service
from app.exports.fhir import _entry
from app.exports.fhir_build import IdSpace, stable_id
from app.exports.fhir_codes import _NS
from app.exports.fhir_diary import symptom_resources
from app.exports.fhir_fast import DiaryEntries

BUNDLE_TYPES = ("collection", "transaction")
COLUMNS = [c.name for c in queries.SYMPTOM_COLUMNS]
PATIENT_REF = "urn:uuid:0b7c3a52-6b1e-4d39-9a3e-3f0c9e1d2a47"


def _uuid5(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))


def test_stable_id_is_the_uuid5_of_the_parts():
    rng = random.Random(5)
    words = ["left", "right", "pain", "night_pain", "morning-stiffness", "", "é", "😀", "a/b"]
    for _ in range(5000):
        parts = [uuid.UUID(int=rng.getrandbits(128))]
        parts += rng.choices(words, k=rng.randint(0, 3))
        parts += ["x" * rng.randint(0, 80)] if rng.random() < 0.2 else []
        expected = _uuid5(*parts)
        assert stable_id(*parts) == expected
        # An id space primed with the start of the name gives the same id.
        name = "/".join(str(p) for p in parts)
        cut = rng.randint(0, len(name))
        assert IdSpace(name[:cut]).id(name[cut:].encode()) == expected
        assert uuid.UUID(expected).version == 5 and uuid.UUID(expected).variant == uuid.RFC_4122


# Free text, where escaping matters: quotes, backslashes, control characters, the separators
# JSON allows raw but JavaScript does not, HTML, non-ASCII, astral characters.
NOTES = [None, "", "stairs were hard", 'said "ouch" \\ twice', "é ü ß 日本 😀",
         "\x00\x01\x1f\x7f tab\t nl\n cr\r", "\u2028\u2029 </script> &amp; <b>",
         '=HYPERLINK("http://evil.example","x")', "%s %(x)s {0} \\u0041", "x" * 3000]
KNEE = {
    "pain": [None, 0, 6, 10],
    "stiffness": [None, 0, 4, 10],
    "swelling": [None, 0, 1, 2, 3],
    "warmth": [None, True, False],
    "giving_way": [None, True, False],
    "flexion": [None, 0, 110, 170],
    "extension": [None, -20, -5, 0, 60],
    "rom_method": [None, "", *ROM_METHODS],
    "night_pain": [None, 0, 3, 10],
    "locking": [None, True, False],
}
DAY = {
    "morning_stiffness_minutes": [None, 0, 25, 1440],
    "flare": [None, True, False],
    "falls": [None, 0, 3, 20],
    "analgesic_doses": [None, 0, 2, 20],
    "analgesic_kinds": [None, [], ["paracetamol"], list(ANALGESIC_KINDS), ["opioid", "opioid"]],
    "notes": NOTES,
}
VERSIONS = [None, 1, 2, 7]


def _empty_row(rng: random.Random) -> dict[str, Any]:
    offset = dt.timezone(dt.timedelta(minutes=rng.choice([0, 60, -300, 570])))
    row: dict[str, Any] = {
        "id": uuid.UUID(int=rng.getrandbits(128)),
        "entry_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 900)),
        "version": 1,
        "recorded_at": dt.datetime(2025, 3, 4, 21, 5, 9, rng.choice([0, 123456]), offset),
    }
    row |= {f"{side}_{name}": None for side in SIDES for name in KNEE}
    row |= dict.fromkeys(DAY)
    assert set(row) == set(COLUMNS)
    return row


def _random_row(rng: random.Random) -> dict[str, Any]:
    row = _empty_row(rng)
    row |= {f"{side}_{name}": rng.choice(values)
            for side in SIDES for name, values in KNEE.items()}
    row |= {name: rng.choice(values) for name, values in DAY.items()}
    row["version"] = rng.choice(VERSIONS)
    return row


def _expected(row: dict[str, Any], bundle_type: str) -> list[bytes]:
    resources = symptom_resources(SimpleNamespace(**row), PATIENT_REF)
    return [orjson.dumps(_entry(res, bundle_type)) for res in resources]


def _assert_same(row: dict[str, Any]) -> None:
    for bundle_type in BUNDLE_TYPES:
        fast = DiaryEntries(PATIENT_REF, bundle_type).of(row)
        assert fast == _expected(row, bundle_type), (row, bundle_type)


def test_the_columns_are_those_the_export_reads():
    assert set(KNEE) == set(KNEE_COLUMN_SUFFIXES)
    assert {f"{side}_{name}" for side in SIDES for name in KNEE} | set(DAY) | {
        "id", "entry_date", "version", "recorded_at"} == set(COLUMNS)


def test_each_value_alone_and_every_value_together():
    """Every column's every value (None included) in a row that has nothing else, in a row
    that has everything else, and in every version; each row in both Bundle types."""
    rng = random.Random(1)
    full = _random_row(rng)
    full |= {f"{side}_{name}": values[-1] for side in SIDES for name, values in KNEE.items()}
    full |= {name: values[-1] for name, values in DAY.items()}
    columns = {f"{side}_{name}": values for side in SIDES for name, values in KNEE.items()}
    columns |= DAY
    rows = [_empty_row(rng), full]
    for column, values in columns.items():
        for value in values:
            rows += [_empty_row(rng) | {column: value}, full | {column: value}]
    # ROM with and without each method, on either knee.
    for side in SIDES:
        for method in KNEE["rom_method"]:
            rows.append(_empty_row(rng) | {f"{side}_flexion": 90, f"{side}_extension": 5,
                                           f"{side}_rom_method": method})
    counts = set()
    for row in rows:
        for version in VERSIONS:
            _assert_same(row | {"version": version})
        counts.add(len(_expected(row, "collection")))
    assert {0, 1, 23} <= counts  # the empty row, one observation, every one of them


def test_many_random_rows():
    rng = random.Random(2)
    for _ in range(1500):
        _assert_same(_random_row(rng))


@settings(max_examples=150, deadline=None)
@given(notes=st.text(min_size=1), value=st.one_of(st.integers(-(2**63), 2**63 - 1),
                                                  st.floats(), st.booleans()),
       swelling=st.sampled_from(KNEE["swelling"]))
def test_any_text_and_any_number(notes, value, swelling):
    """Notes with any characters; numbers orjson has to render (large, negative, fractional,
    NaN, infinite) in the places that take a number or a boolean."""
    row = _empty_row(random.Random(3)) | {
        "notes": notes, "left_pain": value, "right_stiffness": value, "left_warmth": value,
        "right_flexion": value, "morning_stiffness_minutes": value, "falls": value,
        "analgesic_doses": value, "analgesic_kinds": ["nsaid_oral"], "left_swelling": swelling}
    _assert_same(row)


class _ReferenceDiary:
    """DiaryEntries made by the dict builders: the export as it was before the fast path."""

    def __init__(self, patient_ref: str, bundle_type: str) -> None:
        self.patient_ref, self.bundle_type = patient_ref, bundle_type

    def of(self, row: Any) -> list[bytes]:
        resources = symptom_resources(SimpleNamespace(**row), self.patient_ref)
        return [orjson.dumps(_entry(res, self.bundle_type)) for res in resources]


@pytest.mark.parametrize("bundle_type", BUNDLE_TYPES)
def test_a_stored_history_exports_the_reference_bytes(client, history, monkeypatch, bundle_type):
    """Rows as the database returns them (both backends), through the whole export and its
    chunking: the same chunks as with the dict builders."""
    from sqlmodel import Session

    from app.care.models import Patient
    from app.db import get_engine

    h = history.headers
    body = {"knees": {"right": {"pain": 4, "locking": True, "night_pain": 2}},
            "analgesics": {"doses": 2, "kinds": ["paracetamol", "nsaid_topical"]},
            "falls": 1, "notes": 'knee "gave way"\non the stairs – ü 😀 \\'}
    assert client.put("/v1/patients/me/symptom-entries/2026-01-08", headers=h,
                      json=body).status_code == 201
    assert client.put("/v1/patients/me/symptom-entries/2026-01-08", headers=h,
                      json=body | {"falls": 2}).status_code == 200  # version 2: amended
    with Session(get_engine()) as s:
        patient = s.get(Patient, uuid.UUID(history.id))

    def chunks() -> list[bytes]:
        resources = service._fhir_resources(patient, "Ann", None, None, bundle_type)
        return list(fhir.bundle_chunks(
            bundle_id="b", timestamp=dt.datetime(2026, 1, 9, tzinfo=dt.UTC),
            resources=resources, bundle_type=bundle_type, chunk_bytes=4000))

    fast = chunks()
    monkeypatch.setattr(service.fhir_fast, "DiaryEntries", _ReferenceDiary)
    reference = chunks()
    assert len(reference) > 3 and b"amended" in b"".join(reference)
    assert fast == reference
