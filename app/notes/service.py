"""Clinical notes: written by a clinician on the care team, read by the patient and the care
team; never changed (a correction is a new note that `amends` the earlier one)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlmodel import Session, col

from app.care.calendar import local_today
from app.care.models import Patient
from app.errors import NotFound, Unprocessable
from app.notes.models import ClinicalNote
from app.notes.schemas import ClinicalNoteIn, ClinicalNoteOut
from app.pagination import keyset_page
from app.records.changes import record_change


def note_out(row: ClinicalNote) -> ClinicalNoteOut:
    return ClinicalNoteOut.model_validate(row, from_attributes=True)


def _get_row(session: Session, patient_id: uuid.UUID, note_id: uuid.UUID) -> ClinicalNote | None:
    return session.scalars(
        select(ClinicalNote).where(
            col(ClinicalNote.patient_id) == patient_id, col(ClinicalNote.id) == note_id
        )
    ).first()


def create_note(
    session: Session,
    patient: Patient,
    body: ClinicalNoteIn,
    *,
    now: dt.datetime,
    clinician_id: uuid.UUID,
) -> ClinicalNote:
    if body.entry_date is not None and body.entry_date > local_today(patient, now):
        raise Unprocessable(
            "entry_date is after today in the patient's time zone", loc=["body", "entry_date"]
        )
    if body.amends is not None and _get_row(session, patient.id, body.amends) is None:
        raise Unprocessable("amends names no note of this patient", loc=["body", "amends"])
    row = ClinicalNote(
        patient_id=patient.id, clinician_id=clinician_id, created_at=now, **body.model_dump()
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        patient.id,
        kind="clinical_note",
        key=str(row.id),
        op="upsert",
        version=1,  # a note is never changed
        data=note_out(row).model_dump(mode="json"),
        now=now,
    )
    return row


def get_note(session: Session, patient: Patient, note_id: uuid.UUID) -> ClinicalNote:
    row = _get_row(session, patient.id, note_id)
    if row is None:
        raise NotFound()
    return row


def list_notes(
    session: Session,
    patient: Patient,
    *,
    topic: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ClinicalNote], str | None]:
    """Oldest first (by when written, then id)."""
    q = select(ClinicalNote).where(col(ClinicalNote.patient_id) == patient.id)
    if topic is not None:
        q = q.where(col(ClinicalNote.topic) == topic)
    return keyset_page(
        session,
        q,
        sort=col(ClinicalNote.created_at),
        parse=dt.datetime.fromisoformat,
        limit=limit,
        cursor=cursor,
    )
