from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.care.guards import ExportablePatient
from app.clock import Now
from app.db import SessionDep
from app.exports import service
from app.exports.csv import CSV_MEDIA_TYPE
from app.exports.fhir import BundleType
from app.exports.fhir_codes import FHIR_JSON
from app.exports.schemas import FhirBundle
from app.openapi import PROBLEM_RESPONSES
from app.pagination import DateFrom, DateTo, check_date_range

router = APIRouter(prefix="/v1/patients/{pid}", tags=["exports"], responses=PROBLEM_RESPONSES)


@router.get(
    "/export.csv",
    summary="Export the diary, exercise log, treatments or function tests as CSV (streamed)",
    description="One row per day and knee (`kind=symptoms`), per session (`kind=exercise`), "
    "per treatment (`kind=treatments`) or per test result (`kind=function_tests`), "
    "with a header row and ISO 8601 dates. Text cells that a spreadsheet would run as a "
    "formula are prefixed with `'`. API keys need the `export` scope.",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The CSV file",
        }
    },
)
def export_csv(
    patient: ExportablePatient,
    kind: Annotated[
        service.CsvKind,
        Query(description="`symptoms`, `exercise`, `treatments` or `function_tests`"),
    ],
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> StreamingResponse:
    check_date_range(date_from, date_to)
    filename = service.csv_filename(kind, date_from, date_to)
    return StreamingResponse(
        service.csv_export(patient, kind=kind, date_from=date_from, date_to=date_to),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/export.fhir",
    summary="Export the record as a FHIR R4 Bundle (streamed)",
    description="A `Bundle` of type `collection` (or `transaction` with `?type=transaction`, "
    "to load into a FHIR server): the Patient, the diary, exercise sessions, function tests, "
    "PGIC and PASS as Observations (an entry replaced since first written is `amended`, with "
    "its version), KOOS-JR as QuestionnaireResponses, treatments as Procedures, exercise "
    "plans as CarePlans and flag episodes as Flags; every resource carries its KneeTrack id "
    "as an identifier. docs/fhir-mapping.md lists every code. API keys need the `export` "
    "scope.",
    response_class=StreamingResponse,
    responses={
        200: {
            "model": FhirBundle,
            "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirBundle"}}},
            "description": "A FHIR R4 Bundle (type collection)",
        }
    },
)
def export_fhir(
    patient: ExportablePatient,
    session: SessionDep,
    now: Now,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    bundle_type: Annotated[
        BundleType,
        Query(
            alias="type",
            description="`collection` (default), or `transaction`: every entry a conditional "
            "update by its identifier, for a FHIR server to load (docs/fhir-mapping.md)",
        ),
    ] = "collection",
) -> StreamingResponse:
    check_date_range(date_from, date_to)
    name = service.display_name(session, patient.id)
    return StreamingResponse(
        service.fhir_export(
            patient,
            display_name=name,
            date_from=date_from,
            date_to=date_to,
            now=now,
            bundle_type=bundle_type,
        ),
        media_type=FHIR_JSON,
        headers={"Content-Disposition": 'attachment; filename="kneetrack-fhir.json"'},
    )
