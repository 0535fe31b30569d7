"""Export use cases: each returns an iterator of chunks that reads as it is consumed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from sqlalchemy import Row, Select, select
from sqlmodel import Session, col

from app.auth.models import User
from app.care.models import Patient
from app.exports import fhir, fhir_care, fhir_fast, queries
from app.exports.csv import (
    EXERCISE_HEADER,
    FUNCTION_TEST_HEADER,
    SYMPTOM_HEADER,
    TREATMENT_HEADER,
    csv_chunks,
    exercise_rows,
    function_test_rows,
    symptom_rows,
    treatment_rows,
)

CsvKind = Literal["symptoms", "exercise", "treatments", "function_tests"]
_CSV: dict[
    str, tuple[Sequence[str], Callable[..., Select[Any]], Callable[[Any], Iterator[Sequence[Any]]]]
] = {
    "symptoms": (SYMPTOM_HEADER, queries.symptom_entries, symptom_rows),
    "exercise": (EXERCISE_HEADER, queries.exercise_sessions, exercise_rows),
    "treatments": (TREATMENT_HEADER, queries.treatments, treatment_rows),
    "function_tests": (FUNCTION_TEST_HEADER, queries.function_tests, function_test_rows),
}


def _stream(stmt: Select[Any]) -> Iterator[Row[Any]]:
    with queries.read_connection() as conn:
        yield from queries.stream(conn, stmt)


def csv_export(
    patient: Patient, *, kind: CsvKind, date_from: dt.date | None, date_to: dt.date | None
) -> Iterator[str]:
    header, query, to_rows = _CSV[kind]
    rows = (r for row in _stream(query(patient.id, date_from, date_to)) for r in to_rows(row))
    return csv_chunks(header, rows)


def csv_filename(kind: CsvKind, date_from: dt.date | None, date_to: dt.date | None) -> str:
    span = "_".join(d.isoformat() if d else "" for d in (date_from, date_to)).strip("_")
    return f"kneetrack-{kind}{'-' + span if span else ''}.csv"


def display_name(session: Session, patient_id: uuid.UUID) -> str:
    name = session.scalar(select(col(User.display_name)).where(col(User.id) == patient_id))
    return name or ""


def _fhir_resources(
    patient: Patient,
    name: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    bundle_type: fhir.BundleType,
) -> Iterator[dict[str, Any] | bytes]:
    """The resources of the export; the diary's as their Bundle entries serialised already."""
    ref = f"urn:uuid:{patient.id}"
    diary = fhir_fast.DiaryEntries(ref, bundle_type)
    yield fhir.patient_resource(
        patient_id=patient.id, display_name=name, sex=patient.sex, birth_year=patient.birth_year
    )
    # One connection and transaction for every read.
    with queries.read_connection() as conn:
        span = (patient.id, date_from, date_to)
        for row in queries.stream(conn, queries.symptom_entries(*span)):
            yield from diary.of(row._mapping)
        for row in queries.stream(conn, queries.exercise_sessions(*span)):
            yield fhir.session_resource(row, ref)
        for row in queries.stream(conn, queries.koos_jr_responses(*span)):
            yield fhir.koos_jr_resource(row, ref)
        for row in queries.stream(conn, queries.single_item_responses(*span)):
            yield fhir.single_item_resource(row, ref)
        for row in queries.stream(conn, queries.function_tests(*span)):
            yield fhir.function_test_resource(row, ref)
        for row in queries.stream(conn, queries.treatments(*span)):
            yield fhir.procedure_resource(row, ref)
        for row in queries.stream(conn, queries.exercise_plans(*span)):
            yield fhir_care.care_plan_resource(row, ref)
        for row in queries.stream(conn, queries.flag_episodes(*span)):
            yield fhir_care.flag_resource(row, ref)


def fhir_export(
    patient: Patient,
    *,
    display_name: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    now: dt.datetime,
    bundle_type: fhir.BundleType = "collection",
) -> Iterator[bytes]:
    return fhir.bundle_chunks(
        bundle_id=str(uuid.uuid4()),
        timestamp=now,
        resources=_fhir_resources(patient, display_name, date_from, date_to, bundle_type),
        bundle_type=bundle_type,
    )
