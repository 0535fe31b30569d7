"""The flag episodes of one patient as stored (`app.trends.state`): listed, and reviewed by a
clinician on the care team (SPEC v2 §5)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.care.models import Patient
from app.errors import NotFound
from app.records.locks import lock_patient
from app.records.models import StateQueue
from app.trends.episodes import status_of
from app.trends.models import FlagEpisode, FlagReview, PatientState
from app.trends.rules import SEVERITY_ORDER
from app.trends.schemas import FlagList, FlagOut, FlagStatus
from app.trends.state import episode_json, flag_summary, stored_episodes
from app.trends.windows import today_for

STATUS_ORDER = {"open": 0, "reviewed": 1, "resolved": 2}
# Addressed to the clinician (it names treatment pathways): never listed to the patient.
CLINICIAN_ONLY = ("escalation_review",)


def episodes_out(
    session: Session,
    patient_id: uuid.UUID,
    *,
    statuses: list[FlagStatus] | None = None,
    since: dt.date | None = None,
    for_patient: bool = False,
) -> list[FlagOut]:
    """The stored episodes (of these statuses; ending on or after `since`; without the
    clinician-only rules when the patient asks): open first, then by severity, latest first.
    One query."""
    q = select(FlagEpisode).where(col(FlagEpisode.patient_id) == patient_id)
    if for_patient:
        q = q.where(col(FlagEpisode.rule).not_in(CLINICIAN_ONLY))
    if statuses:
        q = q.where(col(FlagEpisode.status).in_(statuses))
    if since is not None:
        q = q.where(col(FlagEpisode.last_date) >= since)
    rows = sorted(
        session.execute(q).scalars(),
        key=lambda r: (
            STATUS_ORDER[r.status],
            SEVERITY_ORDER[r.severity],
            -r.last_date.toordinal(),
            r.rule,
            r.key,
        ),
    )
    return [_out(r) for r in rows]


def shown_flags(
    session: Session, patient_id: uuid.UUID, *, for_patient: bool = False
) -> list[FlagOut]:
    """The open and reviewed episodes as the panel keeps them (one row: `dates` are those of
    each episode's last 14 days), without the clinician-only rules when the patient asks."""
    state = session.get(PatientState, patient_id)
    flags = state.flags if state is not None and state.error is None else []
    return [
        FlagOut.model_validate(f)
        for f in flags
        if not (for_patient and f["rule"] in CLINICIAN_ONLY)
    ]


def list_flags(
    session: Session,
    patient: Patient,
    *,
    statuses: list[FlagStatus] | None = None,
    since: dt.date | None = None,
    for_patient: bool = False,
) -> FlagList:
    """`episodes_out`, with the date they were computed and whether a write is pending."""
    items = episodes_out(
        session, patient.id, statuses=statuses, since=since, for_patient=for_patient
    )
    state = session.get(PatientState, patient.id)
    pending = session.get(StateQueue, patient.id) is not None
    return FlagList(
        items=items,
        as_of=state.as_of if state is not None else None,
        pending=pending or state is None,
    )


def _out(row: FlagEpisode) -> FlagOut:
    return FlagOut.model_validate(row, from_attributes=True)


def review(
    session: Session,
    patient: Patient,
    flag_id: uuid.UUID,
    *,
    clinician_id: uuid.UUID,
    note: str,
    now: dt.datetime,
) -> FlagOut:
    """Mark the episode reviewed through its last date, keep the review, and update what the
    panel shows. An episode of another patient, or none: 404. New triggering data after this
    reopens it (`episodes.status_of`)."""
    lock_patient(session, patient.id)  # a refresh of this patient waits, and sees the review
    row = session.get(FlagEpisode, flag_id)
    if row is None or row.patient_id != patient.id:
        raise NotFound("No such flag for this patient")
    row.reviewed_by, row.reviewed_at, row.review_note = clinician_id, now, note
    row.reviewed_through = row.last_date
    session.add(
        FlagReview(
            patient_id=patient.id,
            episode_id=row.id,
            reviewed_by=clinician_id,
            reviewed_at=now,
            note=note,
            through_date=row.last_date,
        )
    )
    session.flush()
    episodes = stored_episodes(session, patient.id)
    today = today_for(patient, now)
    for e in episodes:
        if e.id == row.id:
            e.status = row.status = status_of(e, today)
    session.execute(
        update(PatientState)
        .where(col(PatientState.patient_id) == patient.id)
        .values(**flag_summary(episodes))
    )
    session.flush()
    return FlagOut.model_validate(episode_json(next(e for e in episodes if e.id == row.id)))
