"""Completed questionnaires: scored once when stored, read back as stored."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlmodel import Session, col

from app.care.calendar import local_today
from app.care.models import Patient
from app.errors import NotFound, Unprocessable
from app.pagination import keyset_page
from app.questionnaires.models import QuestionnaireResponse
from app.questionnaires.schemas import QuestionnaireIn, QuestionnaireOut, SubscaleItemsOut
from app.questionnaires.scoring import (
    SINGLE_ITEM,
    InvalidAnswers,
    score_koos,
    score_koos_jr,
    score_single_item,
)
from app.records.changes import record_change


def response_out(row: QuestionnaireResponse) -> QuestionnaireOut:
    raw = items = None
    if row.instrument == "koos_jr":
        raw = sum(row.answers.values())
    elif row.instrument == "koos":
        items = {
            name: SubscaleItemsOut(answered=i.answered, total=i.total, minimum=i.minimum)
            for name, i in score_koos(row.answers).items.items()
        }
    return QuestionnaireOut(
        id=row.id,
        instrument=row.instrument,
        completed_on=row.completed_on,
        answers=row.answers,
        score=row.score,
        raw_score=raw,
        subscales=row.subscales,
        subscale_items=items,
        created_at=row.created_at,
    )


def create_response(
    session: Session, patient: Patient, body: QuestionnaireIn, *, now: dt.datetime
) -> QuestionnaireResponse:
    today = local_today(patient, now)
    if body.completed_on > today:
        raise Unprocessable(
            f"completed_on is after today ({today.isoformat()}) in the patient's time zone",
            loc=["body", "completed_on"],
        )
    row = QuestionnaireResponse(
        patient_id=patient.id,
        instrument=body.instrument,
        completed_on=body.completed_on,
        answers=dict(body.answers),
        created_at=now,
    )
    try:
        if body.instrument == "koos_jr":
            row.score = score_koos_jr(body.answers).score
        elif body.instrument in SINGLE_ITEM:
            row.score = score_single_item(body.instrument, body.answers)
        else:
            row.subscales = score_koos(body.answers).subscales
    except InvalidAnswers as exc:
        raise Unprocessable(
            f"Invalid answers: {', '.join(exc.problems)}",
            errors=[
                {"loc": ["body", "answers", item], "msg": msg} for item, msg in exc.problems.items()
            ],
        ) from exc
    session.add(row)
    session.flush()
    record_change(
        session,
        patient.id,
        kind="questionnaire",
        key=str(row.id),
        op="upsert",
        version=1,  # a stored questionnaire is never changed
        data=response_out(row).model_dump(mode="json"),
        now=now,
    )
    return row


def get_response(
    session: Session, patient: Patient, response_id: uuid.UUID
) -> QuestionnaireResponse:
    row = session.scalars(
        select(QuestionnaireResponse).where(
            col(QuestionnaireResponse.patient_id) == patient.id,
            col(QuestionnaireResponse.id) == response_id,
        )
    ).first()
    if row is None:
        raise NotFound()
    return row


def list_responses(
    session: Session,
    patient: Patient,
    *,
    instrument: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[QuestionnaireResponse], str | None]:
    """By ascending `completed_on` (then id)."""
    q = select(QuestionnaireResponse).where(col(QuestionnaireResponse.patient_id) == patient.id)
    if instrument is not None:
        q = q.where(col(QuestionnaireResponse.instrument) == instrument)
    if date_from is not None:
        q = q.where(col(QuestionnaireResponse.completed_on) >= date_from)
    if date_to is not None:
        q = q.where(col(QuestionnaireResponse.completed_on) <= date_to)
    return keyset_page(
        session,
        q,
        sort=col(QuestionnaireResponse.completed_on),
        parse=dt.date.fromisoformat,
        limit=limit,
        cursor=cursor,
    )
