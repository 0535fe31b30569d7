"""Everything for a set of patients in a fixed number of queries: the all-metrics
summary, adherence and the flags of one patient."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter

from sqlmodel import Session

from app.care.models import Patient
from app.clinical import threshold
from app.schemas import DATE_MIN
from app.trends import adherence as adh
from app.trends import exercise_queries
from app.trends import queries as q
from app.trends.flag_review import shown_flags
from app.trends.measure import exercise_rows_many, exercise_series, exercise_span, summary_out
from app.trends.metrics import METRICS, MetricSpec
from app.trends.patient_data import PatientData
from app.trends.schemas import (
    AdherenceOut,
    Basis,
    OverviewOut,
    PlanAdherenceOut,
    WeekOut,
)
from app.trends.windows import DAY, Range, resolve_anchor, resolve_knee, resolve_window, today_for

# --- everything for a set of patients, in a fixed number of queries ---------------------------


def load_patients(
    session: Session,
    patients: Sequence[Patient],
    now: dt.datetime,
    *,
    since_days: int,
    knee: str = "worse",
) -> dict[uuid.UUID, PatientData]:
    """Diary rows, exercise, KOOS-JR, plans and adherence for every patient, from `since_days`
    before the earliest of their todays: six queries whatever the number of patients."""
    if not patients:
        return {}
    ids = [p.id for p in patients]
    todays = {p.id: today_for(p, now) for p in patients}
    since = min(todays.values()) - since_days * DAY
    until = max(todays.values())
    plans = exercise_queries.plans(session, ids)
    windows = [q.Window(ids, since, until)]
    # Each active plan's pre-start pain (for `not_improving`).
    for pid, ps in plans.items():
        for plan in ps:
            lo = plan.start_date - 7 * DAY
            if lo < since:
                windows.append(q.Window([pid], lo, plan.start_date + 6 * DAY))
    columns = q.loaded_symptom_columns(knee)
    rows = q.symptom_days(session, windows, columns)
    exercise = exercise_rows_many(session, q.Window(ids, since, until))
    koos = q.koos_jr_days(session, q.Window(ids, since, until))
    percent = round(100 * threshold("adherence_session_fraction"))
    qualifying = exercise_queries.qualifying_sessions(session, ids, since, percent) if plans else {}
    records = q.record_dates(session, ids)
    out = {
        pid: PatientData(
            today=todays[pid],
            since=since,
            plans=plans.get(pid, []),
            first_record=records[pid].first_record if pid in records else None,
            last_entry=records[pid].last_entry if pid in records else None,
        )
        for pid in ids
    }
    labels = [c.key for c in columns]
    # Rows come in (patient, date) order: one run of rows per patient, turned into columns.
    for pid, group in groupby(rows, key=itemgetter(0)):
        _, dates, *values = zip(*group, strict=True)
        data = out[pid]
        data.dates = dates
        data.columns = dict(zip(labels, values, strict=True))
    for pid, ex in exercise.items():
        out[pid].exercise = ex
    for r in koos:
        out[r.patient_id].koos_jr[r.day] = float(r.score)

    for data in out.values():
        data.qualifying = {p.id: qualifying.get(p.id, {}) for p in data.plans}
    return out


def metric_series(
    data: PatientData, spec: MetricSpec, knee: str, window: Range
) -> tuple[dict[dt.date, float], list[str | None]]:
    """A metric's daily series (and the ROM methods in the window) from loaded data."""
    if spec.source == "entry":
        return data.series(spec.name), []
    if spec.source == "knee":
        label = f"{spec.name}_{knee}"
        series = data.series(label)
        methods = data.values(f"{label}_method") if spec.is_rom else {}
        used = (
            [methods.get(d) for d in series if window.start <= d <= window.end]
            if spec.is_rom
            else []
        )
        return series, used
    if spec.name == "koos_jr":
        return dict(data.koos_jr), []
    if spec.source in ("questionnaire", "function_test"):
        return dict(data.sparse.get(spec.name, {})), []
    start = data.since if data.since is not None else window.start
    span = exercise_span(data.first_record, start, window.end, data.today)
    return exercise_series(data.exercise, spec.name, span), []


def adherence_out(data: PatientData) -> AdherenceOut:
    per_plan = []
    all_weeks = []
    for plan in data.plans:
        weeks = data.weeks(plan)
        all_weeks.append(weeks)
        per_plan.append(
            PlanAdherenceOut(
                plan_id=plan.id,
                activity=plan.activity,
                minutes_per_session=plan.minutes_per_session,
                sessions_per_week=plan.sessions_per_week,
                start_date=plan.start_date,
                end_date=plan.end_date,
                adherence_4w=adh.combined_adherence([weeks]),
                weeks=[WeekOut(**w.__dict__) for w in weeks[-12:]],
            )
        )
    return AdherenceOut(adherence_4w=adh.combined_adherence(all_weeks), plans=per_plan)


def overview(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    *,
    knee: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    baseline: Basis = "auto",
    for_patient: bool = False,
) -> OverviewOut:
    knee = resolve_knee(patient, knee)
    today = today_for(patient, now)
    window = resolve_window(today, date_from, date_to)
    # The whole record: every metric's baseline is anchored to the patient, not the window.
    since_days = (today - DATE_MIN).days
    data = load_patients(session, [patient], now, since_days=since_days, knee=knee)[patient.id]
    anchor = resolve_anchor(
        session, patient, today, window, basis=baseline, knee=knee, plans=data.plans
    )
    # PGIC, PASS and the function tests (no flag rule reads them): two queries.
    sparse_window = q.Window([patient.id], today - since_days * DAY, today)
    for name, day, value in q.other_sparse_days(session, sparse_window):
        data.sparse.setdefault(name, {})[day] = float(value)
    metrics = {}
    for spec in METRICS.values():
        series, methods = metric_series(data, spec, knee, window)
        metrics[spec.name] = summary_out(
            spec, knee if spec.per_knee else None, series, window, anchor, methods
        )
    return OverviewOut(
        patient_id=patient.id,
        today=today,
        from_=window.start,
        to=window.end,
        knee=knee,
        last_entry_date=data.last_entry,
        metrics=metrics,
        flags=shown_flags(session, patient.id, for_patient=for_patient),
        adherence=adherence_out(data),
    )
