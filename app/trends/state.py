"""The stored flag state of a patient — episodes and the panel's numbers — recomputed from
the rows when they change, never on a read (SPEC v2 §5).

How it stays up to date: every write that changes what the rules read enqueues the earliest
local date it touches (`state_queue`, in the write's own transaction, by
`records.changes.record_changes`). `drain` takes queued patients — and those whose local date
has turned since their state was computed, and those who have none — and for each, in one
transaction holding the patient's write lock, recomputes the episodes from that date on,
keeps the earlier ones, stores the numbers and removes the queue row. A crash before the
commit leaves the queue row, so the work is redone; a write during it waits for the lock.
`app.trends.state_worker` runs `drain` in the background; `kneetrack rebuild-state`
recomputes everything from the rows."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from app.care.models import CareTeamMember, Patient
from app.clinical import threshold
from app.diary.models import ExerciseSession, SymptomEntry
from app.records.locks import lock_patient
from app.records.models import StateQueue
from app.schemas import DATE_MIN, clamp_date
from app.sql import core_rows, table_of
from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends import exercise_queries
from app.trends.episodes import Episode, detect, recompute, region
from app.trends.metrics import METRICS
from app.trends.models import FlagEpisode, PatientState
from app.trends.plan_rules import plan_baseline
from app.trends.queries import value_column
from app.trends.rules import CONTEXT_DAYS, SEVERITY_ORDER, Day, Record, SessionDay
from app.trends.windows import DAY, today_for

log = logging.getLogger("kneetrack.state")
NUMBERS_DAYS = 35  # the panel's numbers read the last 35 days
E, S = SymptomEntry, ExerciseSession
_DAY_COLUMNS = [
    col(E.entry_date).label("day"),
    value_column(METRICS["pain"], "worse").label("pain"),
    *(
        col(getattr(E, f"{knee}_{name}")).label(f"{knee}_{name}")
        for knee in ("left", "right")
        for name in ("swelling", "warmth", "giving_way", "flexion", "extension", "rom_method")
    ),
    col(E.morning_stiffness_minutes),
    col(E.flare),
    col(E.falls),
]
_SESSION_COLUMNS = [
    col(S.local_date).label("day"),
    *(col(getattr(S, n)) for n in ("activity", "falls", "near_falls", "setting", "supervised")),
    col(S.pain_before),
    col(S.pain_after),
]


def load_record(session: Session, patient: Patient, today: dt.date, since: dt.date) -> Record:
    """The patient's entries and sessions from `since` to `today`, plans with their scored
    weeks and pre-start pain, the date they joined a care team, their last earlier entry."""
    pid = patient.id
    live = (col(E.patient_id) == pid, col(E.deleted_at).is_(None))
    days = core_rows(
        session,
        select(*_DAY_COLUMNS)
        .where(*live, col(E.entry_date) >= since, col(E.entry_date) <= today)
        .order_by(col(E.entry_date)),
    )
    sessions = core_rows(
        session,
        select(*_SESSION_COLUMNS)
        .where(col(S.patient_id) == pid, col(S.deleted_at).is_(None))
        .where(col(S.local_date) >= since, col(S.local_date) <= today)
        .order_by(col(S.local_date), col(S.started_at)),
    )
    plans = exercise_queries.plans(session, [pid]).get(pid, [])
    before = select(func.max(col(E.entry_date))).where(*live, col(E.entry_date) < since)
    joined = select(func.min(col(CareTeamMember.granted_at))).where(
        col(CareTeamMember.patient_id) == pid
    )
    joined_at = session.execute(joined).scalar()
    record = Record(
        today=today,
        days=[Day(**r._mapping) for r in days],
        sessions=[SessionDay(**r._mapping) for r in sessions],
        plans=plans,
        joined=joined_at.astimezone(ZoneInfo(patient.timezone)).date() if joined_at else None,
        last_entry_before=_clamped(session.execute(before).scalar()),
    )
    if plans:
        _plan_parts(session, pid, record)
    return record


def _clamped(d: dt.date | None) -> dt.date | None:
    return clamp_date(d) if d is not None else None


def _plan_parts(session: Session, pid: uuid.UUID, record: Record) -> None:
    """Each plan's scored weeks as of today and its pre-start pain (SPEC §4 `plan` basis)."""
    first = min(p.start_date for p in record.plans)
    percent = round(100 * threshold("adherence_session_fraction"))
    qualifying = exercise_queries.qualifying_sessions(session, [pid], first, percent)
    for plan in record.plans:
        record.weeks[plan.id] = adh.weekly_adherence(
            plan, qualifying.get(plan.id, {}), record.today
        )
        rows = core_rows(
            session,
            select(col(E.entry_date).label("d"), value_column(METRICS["pain"], "worse").label("v"))
            .where(col(E.patient_id) == pid, col(E.deleted_at).is_(None))
            .where(col(E.entry_date) >= plan.start_date - 7 * DAY)
            .where(col(E.entry_date) <= plan.start_date + 6 * DAY),
        )
        pain = {r.d: float(r.v) for r in rows if r.v is not None}
        record.baselines[plan.id] = plan_baseline(pain, plan)


def refresh(session: Session, patient: Patient, now: dt.datetime, from_date: dt.date) -> None:
    """Recompute the patient's episodes from `from_date` (and the stored episodes that reach
    it) and their numbers, as of their today; store them and clear their queue row. The
    caller commits."""
    lock_patient(session, patient.id)
    today = today_for(patient, now)
    area = region(stored_episodes(session, patient.id), max(from_date, DATE_MIN), today)
    since = min(area.start, today - NUMBERS_DAYS * DAY) - CONTEXT_DAYS * DAY
    record = load_record(session, patient, today, max(since, DATE_MIN))
    episodes = recompute(area, detect(record, area.start), today)
    _store_episodes(session, patient.id, area.affected, area.kept, episodes)
    _store_numbers(session, patient, now, record, episodes)
    session.execute(delete(StateQueue).where(col(StateQueue.patient_id) == patient.id))


def _episode(row: FlagEpisode) -> Episode:
    return Episode(
        id=row.id,
        rule=row.rule,
        key=row.key,
        severity=row.severity,  # type: ignore[arg-type]
        first_date=row.first_date,
        last_date=row.last_date,
        dates=[dt.date.fromisoformat(d) for d in row.dates],
        criteria=list(row.criteria),
        reason=row.reason,
        status=row.status,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        review_note=row.review_note,
        reviewed_through=row.reviewed_through,
    )


def episode_row(patient_id: uuid.UUID, e: Episode) -> dict[str, Any]:
    out = {k: v for k, v in e.__dict__.items()}
    out["dates"] = [d.isoformat() for d in e.dates]
    out["patient_id"] = patient_id
    return out


def _store_episodes(
    session: Session,
    patient_id: uuid.UUID,
    affected: Sequence[Episode],
    kept: Sequence[Episode],
    episodes: Sequence[Episode],
) -> None:
    t = table_of(FlagEpisode)
    session.flush()
    if affected:
        session.execute(delete(t).where(t.c.id.in_([e.id for e in affected])))
    kept_ids = {e.id for e in kept}
    fresh = [episode_row(patient_id, e) for e in episodes if e.id not in kept_ids]
    if fresh:
        session.execute(t.insert(), fresh)
    for e in kept:
        session.execute(t.update().where(t.c.id == e.id).values(status=e.status))


def episode_json(e: Episode) -> dict[str, Any]:
    """An episode as the API shows it (`FlagOut`), in JSON types."""
    return {
        "id": str(e.id),
        "rule": e.rule,
        "key": e.key,
        "severity": e.severity,
        "status": e.status,
        "first_date": e.first_date.isoformat(),
        "last_date": e.last_date.isoformat(),
        "dates": [d.isoformat() for d in e.dates],
        "criteria": e.criteria,
        "reason": e.reason,
        "reviewed_by": str(e.reviewed_by) if e.reviewed_by else None,
        "reviewed_at": e.reviewed_at.isoformat() if e.reviewed_at else None,
        "review_note": e.review_note,
    }


PANEL_DATES = 14  # the panel lists an episode's dates of its last 14 days (GET …/flags: all)


def flag_summary(episodes: Sequence[Episode]) -> dict[str, Any]:
    """What the panel keeps of the episodes: the open and reviewed ones (open first, most
    severe, latest) with the dates of their last 14 days, so that an episode months long
    does not weigh on every panel view, and how many are open per severity."""
    shown = sorted(
        (e for e in episodes if e.status != "resolved"),
        key=lambda e: (e.status != "open", SEVERITY_ORDER[e.severity], -e.last_date.toordinal()),
    )
    opened = [e.severity for e in shown if e.status == "open"]
    return {
        "open_urgent": opened.count("urgent"),
        "open_warning": opened.count("warning"),
        "open_info": opened.count("info"),
        "flags": [_recent_dates(episode_json(e), e) for e in shown],
    }


def _recent_dates(out: dict[str, Any], e: Episode) -> dict[str, Any]:
    edge = e.last_date - (PANEL_DATES - 1) * DAY
    out["dates"] = [d.isoformat() for d in e.dates if d >= edge] or [e.last_date.isoformat()]
    return out


def stored_episodes(session: Session, patient_id: uuid.UUID) -> list[Episode]:
    rows = session.execute(select(FlagEpisode).where(col(FlagEpisode.patient_id) == patient_id))
    return [_episode(r) for r in rows.scalars()]


def _store_numbers(
    session: Session, patient: Patient, now: dt.datetime, r: Record, episodes: Sequence[Episode]
) -> None:
    t = r.today
    pain = [(x.day, x.pain) for x in r.days if x.pain is not None]
    cur = [v for d, v in pain if d >= t - 6 * DAY]
    before = [v for d, v in pain if t - 34 * DAY <= d <= t - 28 * DAY]
    tz = ZoneInfo(patient.timezone)
    midnight = dt.datetime.combine(t + DAY, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    values: dict[str, Any] = {
        "patient_id": patient.id,
        "as_of": t,
        "refresh_after": midnight,
        "last_entry_date": r.days[-1].day if r.days else r.last_entry_before,
        "pain_mean_7d": an.mean(cur),
        "pain_change_28d": (an.mean(cur) or 0) - (an.mean(before) or 0)
        if len(cur) >= 3 and len(before) >= 3
        else None,
        "pain_slope_per_week": an.slope_per_week({d: v for d, v in pain if d > t - 28 * DAY}),
        "adherence_4w": adh.combined_adherence(list(r.weeks.values())),
        **flag_summary(episodes),
        "error": None,
        "updated_at": now,
    }
    session.execute(delete(PatientState).where(col(PatientState.patient_id) == patient.id))
    session.execute(table_of(PatientState).insert(), [values])
