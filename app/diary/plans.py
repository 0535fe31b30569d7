"""Exercise plans: a care-team clinician prescribes and changes them; every earlier version is
kept as a revision (kind `exercise_plan`). Adherence to a plan is the trend engine's business,
not this module's."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.care.calendar import local_today
from app.care.models import Patient
from app.diary.models import ExercisePlan
from app.diary.schemas import ExercisePlanIn, ExercisePlanOut, ExercisePlanPatch
from app.errors import NotFound, Unprocessable
from app.pagination import keyset_page
from app.records.changes import ChangeRecord, record_changes
from app.records.versioned import VersionedKind, etag_of, get_versioned_row, patch_versioned
from app.schemas import DATE_MIN, check_near_today

PLAN_FIELDS = tuple(ExercisePlanIn.model_fields)
PLAN_KIND = "exercise_plan"
# A plan's start and end lie within 5 years of the patient's today: a programme is prescribed
# for now or the near future, and recorded at most a few years late (docs/RELIABILITY.md).
PLAN_NEAR_TODAY_DAYS = 5 * 365 + 1


def check_plan_dates(patient: Patient, fields: dict[str, Any], now: dt.datetime) -> None:
    today = local_today(patient, now)
    for name in ("start_date", "end_date"):
        if name in fields:
            check_near_today(fields[name], today, loc=["body", name], days=PLAN_NEAR_TODAY_DAYS)


def plan_out(row: ExercisePlan) -> ExercisePlanOut:
    return ExercisePlanOut(
        **{f: getattr(row, f) for f in PLAN_FIELDS},
        id=row.id,
        clinician_id=row.clinician_id,
        version=row.version,
        etag=etag_of(row.version),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def plan_change(row: Any) -> ChangeRecord:
    return ChangeRecord(
        kind=PLAN_KIND,
        key=str(row.id),
        op="upsert",
        version=row.version,
        data=plan_out(row).model_dump(mode="json"),
        touches=DATE_MIN,  # a plan's dates move the plan rules and adherence of its whole span
    )


PLAN: VersionedKind[ExercisePlan] = VersionedKind(
    kind=PLAN_KIND,
    model=ExercisePlan,
    key_column="id",
    key_text=str,
    payload=lambda row: plan_out(row).model_dump(mode="json", exclude={"etag"}),
    change=plan_change,
)


def get_row(
    session: Session, patient_id: uuid.UUID, plan_id: uuid.UUID, *, for_update: bool = False
) -> ExercisePlan | None:
    return get_versioned_row(session, PLAN, patient_id, plan_id, for_update=for_update)


def get_plan(session: Session, patient: Patient, plan_id: uuid.UUID) -> ExercisePlan:
    row = get_row(session, patient.id, plan_id)
    if row is None:
        raise NotFound()
    return row


def plan_exists(session: Session, patient_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
    q = select(col(ExercisePlan.id)).where(
        col(ExercisePlan.patient_id) == patient_id, col(ExercisePlan.id) == plan_id
    )
    return session.scalar(q) is not None


def create_plan(
    session: Session,
    patient: Patient,
    body: ExercisePlanIn,
    *,
    now: dt.datetime,
    clinician_id: uuid.UUID,
) -> ExercisePlan:
    check_plan_dates(patient, body.model_dump(include={"start_date", "end_date"}), now)
    row = ExercisePlan(
        patient_id=patient.id,
        clinician_id=clinician_id,
        version=1,
        created_at=now,
        updated_at=now,
        **body.model_dump(),
    )
    session.add(row)
    session.flush()
    record_changes(session, patient.id, [plan_change(row)], now=now)
    return row


def update_plan(
    session: Session,
    patient: Patient,
    plan_id: uuid.UUID,
    body: ExercisePlanPatch,
    *,
    now: dt.datetime,
    actor_id: uuid.UUID,
    if_match: str | None = None,
) -> ExercisePlan:
    """Apply the fields sent. The version before the change is kept as a revision; a patch
    that changes nothing writes nothing and keeps the ETag."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)

    def merge(row: Any) -> dict[str, Any]:
        # Only the dates sent: a plan stored before this rule can still be corrected field by
        # field.
        check_plan_dates(patient, changes, now)
        merged = {f: changes.get(f, getattr(row, f)) for f in PLAN_FIELDS}
        if merged["end_date"] is not None and merged["end_date"] < merged["start_date"]:
            loc = "end_date" if "end_date" in changes else "start_date"
            raise Unprocessable("end_date is before start_date", loc=["body", loc])
        return merged

    return patch_versioned(
        session, PLAN, patient.id, plan_id, merge, now=now, actor_id=actor_id, if_match=if_match
    )


def list_plans(
    session: Session,
    patient: Patient,
    *,
    active_on: dt.date | None,
    activity: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ExercisePlan], str | None]:
    """By ascending start date (then id). `active_on`: plans whose start_date…end_date span
    (open-ended when end_date is null) includes that date."""
    q = select(ExercisePlan).where(col(ExercisePlan.patient_id) == patient.id)
    if active_on is not None:
        q = q.where(
            col(ExercisePlan.start_date) <= active_on,
            col(ExercisePlan.end_date).is_(None) | (col(ExercisePlan.end_date) >= active_on),
        )
    if activity is not None:
        q = q.where(col(ExercisePlan.activity) == activity)
    return keyset_page(
        session,
        q,
        sort=col(ExercisePlan.start_date),
        parse=dt.date.fromisoformat,
        limit=limit,
        cursor=cursor,
    )
