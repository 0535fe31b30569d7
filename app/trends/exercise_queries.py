"""The SQL that reads the exercise log: sessions by day, pain around sessions, the plans and
the sessions that count towards them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from app.diary.models import ExercisePlan, ExerciseSession
from app.schemas import clamp_date
from app.sql import core_rows, in_ids
from app.trends.adherence import PlanInfo
from app.trends.queries import Window


def exercise_days(session: Session, window: Window) -> Sequence[Sequence[Any]]:
    """Per patient, local date and activity: sessions, minutes, falls and near falls."""
    s = ExerciseSession
    q = (
        select(
            col(s.patient_id),
            col(s.local_date),
            col(s.activity),
            func.count().label("sessions"),
            func.sum(col(s.duration_minutes)).label("minutes"),
            func.coalesce(func.sum(col(s.falls)), 0).label("falls"),
            func.coalesce(func.sum(col(s.near_falls)), 0).label("near_falls"),
        )
        .where(
            in_ids(col(s.patient_id), window.patient_ids),
            col(s.local_date) >= window.start,
            col(s.local_date) <= window.end,
            col(s.deleted_at).is_(None),
        )
        .group_by(col(s.patient_id), col(s.local_date), col(s.activity))
        .order_by(col(s.patient_id), col(s.local_date), col(s.activity))
    )
    return core_rows(session, q)


def session_pains(
    session: Session, patient_id: uuid.UUID, start: dt.date, end: dt.date, activity: str | None
) -> Sequence[Row[Any]]:
    """A patient's live sessions from `start` to `end` (local dates), with their pain before
    and after, in date order."""
    s = ExerciseSession
    q = select(col(s.local_date), col(s.activity), col(s.pain_before), col(s.pain_after)).where(
        col(s.patient_id) == patient_id,
        col(s.local_date) >= start,
        col(s.local_date) <= end,
        col(s.deleted_at).is_(None),
    )
    if activity is not None:
        q = q.where(col(s.activity) == activity)
    return core_rows(session, q.order_by(col(s.local_date), col(s.started_at), col(s.id)))


def plans(session: Session, patient_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PlanInfo]]:
    p = ExercisePlan
    rows = core_rows(
        session,
        select(
            col(p.patient_id),
            col(p.id),
            col(p.activity),
            col(p.minutes_per_session),
            col(p.sessions_per_week),
            col(p.start_date),
            col(p.end_date),
        )
        .where(in_ids(col(p.patient_id), patient_ids))
        .order_by(col(p.patient_id), col(p.start_date), col(p.id)),
    )
    out: dict[uuid.UUID, list[PlanInfo]] = {}
    for r in rows:
        out.setdefault(r.patient_id, []).append(
            PlanInfo(
                r.id,
                r.activity,
                r.minutes_per_session,
                r.sessions_per_week,
                # Plans stored before dates were bounded: read inside the range, so that
                # the weeks and baselines computed from them cannot overflow.
                clamp_date(r.start_date),
                clamp_date(r.end_date) if r.end_date is not None else None,
            )
        )
    return out


def qualifying_sessions(
    session: Session, patient_ids: Sequence[uuid.UUID], since: dt.date, percent: int
) -> dict[Any, dict[dt.date, int]]:
    """Per plan and local date: sessions of the plan's activity within its dates that lasted
    at least `percent` % of the prescribed minutes (integer arithmetic, so 12 of 15 minutes
    is exactly 80 %)."""
    p, s = ExercisePlan, ExerciseSession
    rows = core_rows(
        session,
        select(col(p.id), col(s.local_date), func.count().label("n"))
        .join(
            s,
            and_(
                col(s.patient_id) == col(p.patient_id),
                col(s.activity) == col(p.activity),
                col(s.local_date) >= col(p.start_date),
                or_(col(p.end_date).is_(None), col(s.local_date) <= col(p.end_date)),
                col(s.duration_minutes) * 100 >= col(p.minutes_per_session) * percent,
                col(s.deleted_at).is_(None),
            ),
        )
        .where(in_ids(col(p.patient_id), patient_ids), col(s.local_date) >= since)
        .group_by(col(p.id), col(s.local_date)),
    )
    out: dict[Any, dict[dt.date, int]] = {}
    for r in rows:
        out.setdefault(r.id, {})[r.local_date] = r.n
    return out
