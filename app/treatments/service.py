"""Treatments: recorded by the patient or a clinician on the care team, changed and deleted
with preconditions; every earlier version is kept (revisions of kind `treatment`) and every
write goes to the changes feed (a deletion as a tombstone)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.care.calendar import check_not_future
from app.care.models import Patient
from app.records.changes import ChangeRecord
from app.records.versioned import (
    VersionedKind,
    create_with_new_id,
    delete_versioned,
    etag_of,
    get_live_row,
    live_dated_page,
    patch_versioned,
)
from app.treatments.models import Treatment
from app.treatments.schemas import TreatmentIn, TreatmentOut, TreatmentPatch

TREATMENT_KIND = "treatment"
FIELDS = tuple(TreatmentIn.model_fields)


def treatment_out(row: Any) -> TreatmentOut:
    return TreatmentOut(
        **{f: getattr(row, f) for f in FIELDS},
        id=row.id,
        recorded_by=row.recorded_by,
        version=row.version,
        etag=etag_of(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def treatment_change(row: Any, *, deleted: bool = False) -> ChangeRecord:
    return ChangeRecord(
        kind=TREATMENT_KIND,
        key=str(row.id),
        op="delete" if deleted else "upsert",
        version=row.version,
        data=None if deleted else treatment_out(row).model_dump(mode="json"),
    )


TREATMENT: VersionedKind[Treatment] = VersionedKind(
    kind=TREATMENT_KIND,
    model=Treatment,
    key_column="id",
    key_text=str,
    payload=lambda row: treatment_out(row).model_dump(mode="json", exclude={"etag"}),
    change=treatment_change,
)


def create_treatment(
    session: Session, patient: Patient, body: TreatmentIn, *, now: dt.datetime, actor_id: uuid.UUID
) -> Treatment:
    check_not_future(patient, body.date, now, field="date")
    columns = {**body.model_dump(), "recorded_by": actor_id}
    return create_with_new_id(session, TREATMENT, patient.id, columns, now=now, actor_id=actor_id)


def get_treatment(session: Session, patient: Patient, treatment_id: uuid.UUID) -> Treatment:
    return get_live_row(session, TREATMENT, patient.id, treatment_id)


def update_treatment(
    session: Session,
    patient: Patient,
    treatment_id: uuid.UUID,
    body: TreatmentPatch,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> Treatment:
    """Apply the fields sent; the version before is kept as a revision."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)

    def merge(row: Any) -> dict[str, Any]:
        if "date" in changes:
            check_not_future(patient, changes["date"], now, field="date")
        return {f: changes.get(f, getattr(row, f)) for f in FIELDS}

    return patch_versioned(
        session,
        TREATMENT,
        patient.id,
        treatment_id,
        merge,
        now=now,
        actor_id=actor_id,
        if_match=if_match,
    )


def delete_treatment(
    session: Session,
    patient: Patient,
    treatment_id: uuid.UUID,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> Treatment:
    return delete_versioned(
        session, TREATMENT, patient.id, treatment_id, now=now, actor_id=actor_id, if_match=if_match
    )


def list_treatments(
    session: Session,
    patient: Patient,
    *,
    kind: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Treatment], str | None]:
    """Live treatments by ascending date (then id)."""
    return live_dated_page(
        session,
        Treatment,
        patient.id,
        date_column=col(Treatment.date),
        equals={"kind": kind},
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        cursor=cursor,
    )


def latest_treatment(
    session: Session, patient_id: uuid.UUID, knee: str | None = None
) -> Treatment | None:
    """The patient's latest live treatment (by date, then by when it was recorded), for
    `baseline=treatment`. With `knee` = left or right, only treatments of that knee or of
    both; any other value (None, worse, …) takes any knee."""
    q = select(Treatment).where(
        col(Treatment.patient_id) == patient_id, col(Treatment.deleted_at).is_(None)
    )
    if knee in ("left", "right"):
        q = q.where(col(Treatment.knee).in_((knee, "both")))
    q = q.order_by(col(Treatment.date).desc(), col(Treatment.created_at).desc())
    row: Treatment | None = session.scalars(q.limit(1)).first()
    return row
