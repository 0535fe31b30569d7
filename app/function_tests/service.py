"""Function tests: recorded by the patient or a clinician on the care team, read by both,
deleted with a precondition (the last version kept as a revision, a tombstone in the changes
feed). A result is never edited: a wrong one is deleted and recorded again."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlmodel import Session, col

from app.care.calendar import check_not_future
from app.care.models import Patient
from app.errors import Unprocessable
from app.function_tests.models import CHAIR_STAND_MAX, SECONDS_MAX, FunctionTest
from app.function_tests.schemas import FunctionTestIn, FunctionTestOut
from app.records.changes import ChangeRecord
from app.records.versioned import (
    VersionedKind,
    create_with_new_id,
    delete_versioned,
    etag_of,
    get_live_row,
    live_dated_page,
)

FUNCTION_TEST_KIND = "function_test"
FIELDS = tuple(FunctionTestIn.model_fields)


def unit_of(test: str) -> str:
    return "stands" if test == "chair_stand_30s" else "seconds"


def check_value(body: FunctionTestIn) -> None:
    """A result impossible for its test is refused, naming `value`."""
    v = body.value
    if body.test == "chair_stand_30s":
        if v != int(v) or not 0 <= v <= CHAIR_STAND_MAX:
            raise Unprocessable(
                f"a 30-s chair stand is a whole number of stands from 0 to {CHAIR_STAND_MAX}",
                loc=["body", "value"],
            )
    elif not 0 < v <= SECONDS_MAX:
        raise Unprocessable(
            f"a {body.test} time is more than 0 and at most {SECONDS_MAX} seconds",
            loc=["body", "value"],
        )


def result_out(row: Any) -> FunctionTestOut:
    return FunctionTestOut(
        **{f: getattr(row, f) for f in FIELDS},
        id=row.id,
        unit=unit_of(row.test),
        recorded_by=row.recorded_by,
        version=row.version,
        etag=etag_of(row.version),
        created_at=row.created_at,
    )


def result_change(row: Any, *, deleted: bool = False) -> ChangeRecord:
    return ChangeRecord(
        kind=FUNCTION_TEST_KIND,
        key=str(row.id),
        op="delete" if deleted else "upsert",
        version=row.version,
        data=None if deleted else result_out(row).model_dump(mode="json"),
    )


FUNCTION_TEST: VersionedKind[FunctionTest] = VersionedKind(
    kind=FUNCTION_TEST_KIND,
    model=FunctionTest,
    key_column="id",
    key_text=str,
    payload=lambda row: result_out(row).model_dump(mode="json", exclude={"etag"}),
    change=result_change,
)


def create_test(
    session: Session,
    patient: Patient,
    body: FunctionTestIn,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
) -> FunctionTest:
    check_value(body)
    check_not_future(patient, body.performed_on, now, field="performed_on")
    columns = {**body.model_dump(), "recorded_by": actor_id}
    return create_with_new_id(
        session, FUNCTION_TEST, patient.id, columns, now=now, actor_id=actor_id
    )


def get_test(session: Session, patient: Patient, test_id: uuid.UUID) -> FunctionTest:
    return get_live_row(session, FUNCTION_TEST, patient.id, test_id)


def delete_test(
    session: Session,
    patient: Patient,
    test_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> FunctionTest:
    return delete_versioned(
        session, FUNCTION_TEST, patient.id, test_id, now=now, actor_id=actor_id, if_match=if_match
    )


def list_tests(
    session: Session,
    patient: Patient,
    *,
    test: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[FunctionTest], str | None]:
    """Live results by ascending date (then id)."""
    return live_dated_page(
        session,
        FunctionTest,
        patient.id,
        date_column=col(FunctionTest.performed_on),
        equals={"test": test},
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )
