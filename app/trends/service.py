"""Use cases of the trend engine: resolve windows in the patient's time zone, run the few
queries in `queries.py`, and hand the series to the pure functions."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import TypedDict, Unpack
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.care.models import Patient
from app.clinical import THRESHOLDS, threshold
from app.errors import Unprocessable
from app.schemas import DATE_MIN, clamp_date
from app.trends import analysis as an
from app.trends import queries as q
from app.trends.flags import ExerciseDay, Flag, PatientData, active_from, context_days, evaluate
from app.trends.metrics import METRICS, MetricSpec, thresholds_for
from app.trends.schemas import (
    AdherenceOut,
    BaselineOut,
    Basis,
    BeforeAfterOut,
    DescriptiveOut,
    ExerciseResponseOut,
    FlagList,
    FlagOut,
    GroupOut,
    OverLimitOut,
    OverviewOut,
    PeriodOut,
    PlanAdherenceOut,
    PointOut,
    ResolvedBasis,
    SessionPainItem,
    SessionPainOut,
    SummaryOut,
    ThresholdsOut,
    TrendOut,
    WeekOut,
)

DAY = an.DAY
log = logging.getLogger("kneetrack.trends")
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 3 * 366 + 1


def today_for(patient: Patient, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(patient.timezone)).date()


@dataclass(frozen=True)
class Range:
    start: dt.date
    end: dt.date


def resolve_window(today: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> Range:
    end = date_to or today
    start = date_from or end - (DEFAULT_WINDOW_DAYS - 1) * DAY
    if start > end:
        raise Unprocessable("'from' is after 'to'", loc=["query", "from"])
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise Unprocessable(
            f"The window may span at most {MAX_WINDOW_DAYS} days", loc=["query", "from"]
        )
    return Range(start, end)


def resolve_custom(
    window: Range, baseline_from: dt.date | None, baseline_to: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """A `custom` baseline: both ends, or one end and 7 days from or to it."""
    if baseline_from is None and baseline_to is None:
        return None
    start = baseline_from or (baseline_to - 6 * DAY if baseline_to else window.start)
    end = baseline_to or start + 6 * DAY
    if start > end:
        raise Unprocessable(
            "'baseline_from' is after 'baseline_to'", loc=["query", "baseline_from"]
        )
    if end > window.end:
        raise Unprocessable("The baseline must end by 'to'", loc=["query", "baseline_to"])
    if (window.end - start).days + 1 > MAX_WINDOW_DAYS:
        raise Unprocessable("The baseline starts too early", loc=["query", "baseline_from"])
    return start, end


def resolve_knee(patient: Patient, knee: str) -> str:
    """`index`: the patient's index knee when set, else `worse` (SPEC §4)."""
    if knee == "index":
        return patient.index_knee or "worse"
    return knee


def anchor_plan(plans: Sequence[an.PlanInfo], today: dt.date) -> an.PlanInfo | None:
    """The plan a `plan` baseline is anchored to: the current plan (the latest started of
    those running today), else the latest that has started, else the first one to come."""
    started = [p for p in plans if p.start_date <= today]
    current = [p for p in started if p.end_date is None or p.end_date >= today]
    for group in (current, started):
        if group:
            return max(group, key=lambda p: p.start_date)
    return min(plans, key=lambda p: p.start_date) if plans else None


def latest_treatment_date(session: Session, patient_id: uuid.UUID, knee: str) -> dt.date:
    """The date a `treatment` baseline is anchored to: the patient's latest recorded treatment
    of that knee (or of both; any knee for `worse`). None recorded: 422 naming `baseline`."""
    from app.treatments.service import latest_treatment

    treatment = latest_treatment(session, patient_id, knee)
    if treatment is None:
        raise Unprocessable(
            "baseline=treatment needs a recorded treatment (POST …/treatments)",
            loc=["query", "baseline"],
        )
    return clamp_date(treatment.date)


@dataclass(frozen=True)
class Anchor:
    """How a trend's baseline is anchored: the basis `auto` resolved to, and its date."""

    basis: ResolvedBasis
    date: dt.date | None = None  # the plan's start or the treatment's date
    custom: tuple[dt.date, dt.date] | None = None


def resolve_anchor(
    session: Session,
    patient: Patient,
    today: dt.date,
    window: Range,
    *,
    basis: Basis,
    knee: str,
    baseline_from: dt.date | None = None,
    baseline_to: dt.date | None = None,
    plans: Sequence[an.PlanInfo] | None = None,
) -> Anchor:
    custom = resolve_custom(window, baseline_from, baseline_to)
    if custom is not None:
        if basis not in ("auto", "custom"):
            raise Unprocessable(
                "'baseline_from'/'baseline_to' go with baseline=custom",
                loc=["query", "baseline"],
            )
        return Anchor("custom", custom=custom)
    if basis == "custom":
        raise Unprocessable(
            "baseline=custom needs 'baseline_from' or 'baseline_to'",
            loc=["query", "baseline_from"],
        )
    if basis == "treatment":
        return Anchor("treatment", latest_treatment_date(session, patient.id, knee))
    if basis in ("intake", "window"):
        return Anchor(basis)
    if plans is None:
        plans = q.plans(session, [patient.id]).get(patient.id, [])
    plan = anchor_plan(plans, today)
    if plan is None:
        if basis == "plan":
            raise Unprocessable("The patient has no exercise plan", loc=["query", "baseline"])
        return Anchor("intake")
    return Anchor("plan", plan.start_date)


def baseline_range(
    anchor: Anchor, series: an.Series, window: Range, *, sparse: bool
) -> tuple[dt.date, dt.date]:
    """The baseline period of an anchor over a metric's whole series (SPEC §4). Sparse
    metrics read 14 days from its start (`analysis.summarise`)."""
    if anchor.custom is not None:
        return anchor.custom
    if anchor.date is not None:  # plan or treatment: the 7 days before it, else its first 7
        before = (anchor.date - 7 * DAY, anchor.date - DAY)
        if sparse:
            return before[0], anchor.date + 6 * DAY
        if an.period(series, *before).n >= 3:
            return before
        return anchor.date, anchor.date + 6 * DAY
    if anchor.basis == "window":
        inside = an.restrict(series, window.start, window.end)
        first = min(inside) if inside else window.start
        return first, min(first + 6 * DAY, window.end)
    first = min(series) if series else window.start  # intake: the whole record's first days
    return first, first + 6 * DAY


# --- series -----------------------------------------------------------------------------------


def exercise_series(
    rows: Sequence[ExerciseDay], metric: str, span: tuple[dt.date, dt.date] | None
) -> dict[dt.date, float]:
    """Daily sums over every day of `span`, 0 on days without a session."""
    if span is None:
        return {}
    sums: dict[dt.date, float] = {}
    for e in rows:
        sums[e.day] = sums.get(e.day, 0.0) + (
            e.minutes if metric == "exercise_minutes" else e.sessions
        )
    return an.zero_filled(sums, *span)


def exercise_span(
    first_record: dt.date | None, start: dt.date, end: dt.date, today: dt.date
) -> tuple[dt.date, dt.date] | None:
    """Exercise series start on the patient's first record (diary entry or session) and end
    today at the latest: days before the patient used the service are unknown, not rest."""
    if first_record is None:
        return None
    lo, hi = max(start, first_record), min(end, today)
    return (lo, hi) if lo <= hi else None


def _summary_out(
    spec: MetricSpec,
    knee: str | None,
    series: an.Series,
    window: Range,
    anchor: Anchor,
    rom_methods: Sequence[str | None] = (),
) -> SummaryOut:
    inside = an.restrict(series, window.start, window.end)
    limits = thresholds_for(spec, rom_methods)
    s = an.summarise(
        series,
        window=(window.start, window.end),
        baseline=baseline_range(anchor, series, window, sparse=spec.sparse),
        direction=spec.direction,
        limits=limits,
        sparse=spec.sparse,
    )
    last = max(inside) if inside else None
    return SummaryOut(
        metric=spec.name,
        knee=knee,
        unit=spec.unit,
        direction=spec.direction,
        from_=window.start,
        to=window.end,
        n=len(inside),
        baseline=BaselineOut(
            from_=s.baseline.start,
            to=s.baseline.end,
            n=s.baseline.n,
            mean=s.baseline.mean,
            basis=anchor.basis,
        ),
        current=_period_out(s.current),
        change=s.change,
        change_percent=s.change_percent,
        slope_per_week=s.slope_per_week,
        thresholds=ThresholdsOut(
            mcid=limits.mcid,
            mcid_percent=limits.mcid_percent,
            mdc=limits.mdc,
            worsening=limits.worsening,
            acceptable=limits.acceptable,
            sources=dict(limits.sources),
        ),
        threshold_kind=limits.kind,
        status=s.status,
        acceptable_state=s.acceptable_state,
        last_date=last,
        last_value=inside[last] if last else None,
    )


def _period_out(p: an.Period) -> PeriodOut:
    return PeriodOut(from_=p.start, to=p.end, n=p.n, mean=p.mean)


class TrendParams(TypedDict):
    """What a trend asks for: the query of GET /v1/patients/{pid}/trends/{metric}."""

    metric: str
    knee: str
    bucket: an.Bucket
    date_from: dt.date | None
    date_to: dt.date | None
    baseline: Basis
    baseline_from: dt.date | None
    baseline_to: dt.date | None


def metric_trend(
    session: Session, patient: Patient, now: dt.datetime, **params: Unpack[TrendParams]
) -> TrendOut:
    summary, cols = _trend(session, patient, now, params)
    return TrendOut(
        **summary.model_dump(by_alias=False),
        bucket=params["bucket"],
        # Built from our own numbers: no need to validate each of up to ~1,100 points again.
        points=[
            PointOut.model_construct(
                period_start=d, n=n, mean=mean, min=lo, max=hi, rolling_mean_7d=rolling
            )
            for d, n, mean, lo, hi, rolling in cols.rows()
        ],
    )


def metric_trend_json(
    session: Session, patient: Patient, now: dt.datetime, **params: Unpack[TrendParams]
) -> bytes:
    """`metric_trend` as the JSON bytes FastAPI would write for its `TrendOut`, without a
    Pydantic object per point: the summary is dumped by Pydantic, the points by orjson (both
    write floats as the shortest round-trip decimal, and dates in ISO format)."""
    summary, cols = _trend(session, patient, now, params)
    head = summary.model_dump_json(by_alias=True).encode()
    points = orjson.dumps(
        [
            {
                "period_start": d,
                "n": n,
                "mean": mean,
                "min": lo,
                "max": hi,
                "rolling_mean_7d": rolling,
            }
            for d, n, mean, lo, hi, rolling in cols.rows()
        ]
    )
    bucket = orjson.dumps(params["bucket"])
    return b"".join((head[:-1], b',"bucket":', bucket, b',"points":', points, b"}"))


def _trend(
    session: Session, patient: Patient, now: dt.datetime, params: TrendParams
) -> tuple[SummaryOut, an.PointColumns]:
    metric = params["metric"]
    spec = METRICS[metric]
    knee = resolve_knee(patient, params["knee"])
    today = today_for(patient, now)
    window = resolve_window(today, params["date_from"], params["date_to"])
    anchor = resolve_anchor(
        session,
        patient,
        today,
        window,
        basis=params["baseline"],
        knee=knee,
        baseline_from=params["baseline_from"],
        baseline_to=params["baseline_to"],
    )
    # The whole record up to the window's end: the baseline is anchored to the patient
    # (their plan, their first days), not to the window, and a sparse metric may carry its
    # last earlier value forward. One index range scan on (patient_id, date).
    fetch = q.Window([patient.id], DATE_MIN, window.end)
    methods: list[str | None] = []
    series: dict[dt.date, float]
    if spec.source in ("knee", "entry"):
        # Rows are (entry_date, value[, method]), in date order: read by position.
        rows = q.symptom_values(session, patient.id, fetch.start, fetch.end, spec, knee)
        series = {r[0]: float(r[1]) for r in rows if r[1] is not None}
        if spec.is_rom:
            methods = [
                r[2] for r in rows if r[1] is not None and window.start <= r[0] <= window.end
            ]
    elif spec.source == "exercise":
        first = q.record_dates(session, [patient.id])[patient.id].first_record
        span = exercise_span(first, fetch.start, fetch.end, today)
        series = exercise_series(_exercise_rows(session, fetch), metric, span)
    else:
        series = {r.day: float(r.score) for r in q.sparse_days(session, fetch, spec)}
    summary = _summary_out(spec, knee if spec.per_knee else None, series, window, anchor, methods)
    return summary, an.point_columns(series, params["bucket"], (window.start, window.end))


def _exercise_rows(session: Session, window: q.Window) -> list[ExerciseDay]:
    return [e for rows in _exercise_rows_many(session, window).values() for e in rows]


# --- everything for a set of patients, in a fixed number of queries ---------------------------


def load_patients(
    session: Session,
    patients: Sequence[Patient],
    now: dt.datetime,
    *,
    since_days: int,
    knee: str = "worse",
    flags_only: bool = False,
) -> dict[uuid.UUID, PatientData]:
    """Diary rows, exercise, KOOS-JR, plans and adherence for every patient, from `since_days`
    before the earliest of their todays: six queries whatever the number of patients.

    `flags_only` reads just what the flag rules and the panel's numbers need: the diary
    columns the rules read and, of exercise, only the days with a fall or a near fall."""
    if not patients:
        return {}
    ids = [p.id for p in patients]
    todays = {p.id: today_for(p, now) for p in patients}
    since = min(todays.values()) - since_days * DAY
    until = max(todays.values())
    plans = q.plans(session, ids)
    windows = [q.Window(ids, since, until)]
    # Each active plan's pre-start pain (for `not_improving`).
    for pid, ps in plans.items():
        for plan in ps:
            lo = plan.start_date - 7 * DAY
            if lo < since:
                windows.append(q.Window([pid], lo, plan.start_date + 6 * DAY))
    columns = q.flag_symptom_columns() if flags_only else q.loaded_symptom_columns(knee)
    rows = q.symptom_days(session, windows, columns)
    exercise = _exercise_rows_many(session, q.Window(ids, since, until), falls_only=flags_only)
    koos = q.koos_jr_days(session, q.Window(ids, since, until))
    percent = round(100 * threshold("adherence_session_fraction"))
    qualifying = q.qualifying_sessions(session, ids, since, percent) if plans else {}
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


def _exercise_rows_many(
    session: Session, window: q.Window, *, falls_only: bool = False
) -> dict[uuid.UUID, list[ExerciseDay]]:
    out: dict[uuid.UUID, list[ExerciseDay]] = {}
    for r in q.exercise_days(session, window, falls_only=falls_only):
        # (patient, date, activity, sessions, minutes, falls, near falls), by position
        out.setdefault(r[0], []).append(
            ExerciseDay(r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]))
        )
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
                adherence_4w=an.combined_adherence([weeks]),
                weeks=[WeekOut(**w.__dict__) for w in weeks[-12:]],
            )
        )
    return AdherenceOut(adherence_4w=an.combined_adherence(all_weeks), plans=per_plan)


def flag_out(flags: Sequence[Flag]) -> list[FlagOut]:
    return [
        FlagOut(rule=f.rule, severity=f.severity, dates=f.dates, reason=f.reason) for f in flags
    ]


def overview(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    *,
    knee: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    baseline: Basis = "auto",
) -> OverviewOut:
    knee = resolve_knee(patient, knee)
    today = today_for(patient, now)
    window = resolve_window(today, date_from, date_to)
    # The whole record: every metric's baseline is anchored to the patient, not the window.
    since_days = max((today - DATE_MIN).days, _flag_since_days())
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
        metrics[spec.name] = _summary_out(
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
        flags=flag_out(evaluate(data)),
        adherence=adherence_out(data),
    )


def _flag_since_days(active_days: int | None = None) -> int:
    days = active_days if active_days is not None else int(threshold("flag_active_days"))
    return days + context_days()


def flags(session: Session, patient: Patient, now: dt.datetime, *, days: int | None) -> FlagList:
    data = load_patients(session, [patient], now, since_days=_flag_since_days(days))[patient.id]
    return FlagList(
        items=flag_out(evaluate(data, active_days=days)),
        active_from=active_from(data.today, days),
        today=data.today,
    )


def exercise_response(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    *,
    activity: str,
    metric: str,
    knee: str,
    lag_days: int,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> ExerciseResponseOut:
    """The activity's association with the metric `lag_days` later, adjusted for the time
    trend and yesterday's value (SPEC §4, `analysis.exercise_response`); the raw means after
    the activity and after a day without exercise, without an interval; and before vs after
    the start of the latest plan for the activity, labelled uncontrolled."""
    spec = METRICS[metric]
    knee = resolve_knee(patient, knee)
    today = today_for(patient, now)
    window = resolve_window(today, date_from, date_to)
    plan = next(
        (
            p
            for p in reversed(q.plans(session, [patient.id]).get(patient.id, []))
            if p.activity == activity and p.start_date <= window.end
        ),
        None,
    )
    start = min(
        window.start - max(lag_days, 1) * DAY,
        plan.start_date - 14 * DAY if plan else window.start,
    )
    fetch = q.Window([patient.id], start, window.end)
    rows = q.symptom_days(session, [fetch], q.symptom_columns([spec], [knee]))
    label = spec.name if spec.source == "entry" else f"{spec.name}_{knee}"
    series = {r.entry_date: float(r._mapping[label]) for r in rows if r._mapping[label] is not None}
    did: dict[dt.date, set[str]] = {}
    for e in _exercise_rows(session, fetch):
        did.setdefault(e.day, set()).add(e.activity)
    after_act, after_rest = [], []
    for d, v in sorted(an.restrict(series, window.start, window.end).items()):
        acts = did.get(d - lag_days * DAY, set())
        if activity in acts:
            after_act.append(v)
        elif not acts:
            after_rest.append(v)
    active_days = {d for d, acts in did.items() if activity in acts}
    model = an.exercise_response(series, active_days, window.start, window.end, lag_days)
    ma, mr = an.mean(after_act), an.mean(after_rest)
    before_after = None
    if plan is not None:
        before = an.period(series, plan.start_date - 14 * DAY, plan.start_date - DAY)
        after = an.period(series, window.end - 13 * DAY, window.end)
        before_after = BeforeAfterOut(
            plan_id=plan.id,
            plan_start=plan.start_date,
            before=_period_out(before),
            after=_period_out(after),
            change=(after.mean - before.mean)
            if after.mean is not None and before.mean is not None
            else None,
        )
    return ExerciseResponseOut(
        activity=activity,
        metric=metric,
        knee=knee if spec.per_knee else None,
        lag_days=lag_days,
        from_=window.start,
        to=window.end,
        method=an.RESPONSE_METHOD,
        effect=model.effect,
        ci95=list(model.ci95) if model.ci95 else None,
        n=model.n,
        activity_days=model.activity_days,
        enough_data=model.enough_data,
        descriptive=DescriptiveOut(
            after_activity=GroupOut(n=len(after_act), mean=ma),
            after_rest=GroupOut(n=len(after_rest), mean=mr),
            difference=(ma - mr) if ma is not None and mr is not None else None,
        ),
        before_after=before_after,
    )


def session_pain(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    *,
    activity: str | None,
    knee: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> SessionPainOut:
    """Each session's pain before and after, the next day's diary pain, and how many sessions
    went beyond the pain-monitoring model's limits (SPEC §4 Session pain)."""
    knee = resolve_knee(patient, knee)
    window = resolve_window(today_for(patient, now), date_from, date_to)
    sessions = q.session_pains(session, patient.id, window.start, window.end, activity)
    fetch = q.Window([patient.id], window.start, window.end + DAY)
    spec = METRICS["pain"]
    rows = q.symptom_days(session, [fetch], q.symptom_columns([spec], [knee]))
    label = f"pain_{knee}"
    pain = {r.entry_date: float(r._mapping[label]) for r in rows if r._mapping[label] is not None}
    limit = threshold("session_pain_limit")
    items = []
    for r in sessions:
        nxt = pain.get(r.local_date + DAY)
        items.append(
            SessionPainItem(
                date=r.local_date,
                activity=r.activity,
                pain_before=r.pain_before,
                pain_after=r.pain_after,
                next_day_pain=nxt,
                after_above_5=None if r.pain_after is None else r.pain_after > limit,
                next_day_above_before=(
                    None if nxt is None or r.pain_before is None else nxt > r.pain_before
                ),
            )
        )
    return SessionPainOut(
        knee=knee,
        from_=window.start,
        to=window.end,
        items=items,
        over_limit=OverLimitOut(
            after_above_5=sum(1 for i in items if i.after_above_5),
            next_day_above_before=sum(1 for i in items if i.next_day_above_before),
        ),
        source=THRESHOLDS["session_pain_limit"].source,
    )


# --- the clinician's panel --------------------------------------------------------------------

PANEL_SINCE_DAYS = 35


@dataclass(frozen=True)
class PanelNumbers:
    pain_mean_7d: float | None
    pain_change_28d: float | None
    pain_slope_per_week: float | None
    adherence_4w: float | None
    flags: list[Flag]


def panel_numbers(
    session: Session, patients: Sequence[Patient], now: dt.datetime
) -> dict[uuid.UUID, PanelNumbers | None]:
    """Pain over the last 7 days, its change against the 7 days four weeks earlier, the
    slope over the last 28 days, adherence over the last 4 scored weeks and active flags, for
    every patient at once.

    One patient's data can never fail the panel: a patient whose numbers cannot be computed
    (a stored value no rule expects) is logged, by id and error type only, and answered
    `None`; the others are computed as usual."""
    since = max(PANEL_SINCE_DAYS, _flag_since_days())
    try:
        loaded = load_patients(session, patients, now, since_days=since, flags_only=True)
    except DBAPIError:
        raise
    except Exception:
        # The set-based read failed on someone's data: read them one by one to find whom.
        loaded = {}
        for patient in patients:
            with isolated(patient.id, "load"):
                loaded |= load_patients(session, [patient], now, since_days=since, flags_only=True)
    out: dict[uuid.UUID, PanelNumbers | None] = dict.fromkeys((p.id for p in patients), None)
    for pid, data in loaded.items():
        with isolated(pid, "compute"):
            out[pid] = _panel_numbers_of(data)
    return out


@contextmanager
def isolated(patient_id: uuid.UUID, step: str) -> Iterator[None]:
    """Run one patient's part of a many-patient view: an error in it (other than the
    database's) is logged by patient id and error type, without values, and swallowed; the
    caller sees that the part did not complete (its result is missing)."""
    try:
        yield
    except DBAPIError:
        raise  # the database's own failure is the request's (503 or 500), not one patient's
    except Exception as exc:
        log.error(
            "panel: patient skipped (%s failed: %s)",
            step,
            type(exc).__name__,
            extra={"patient_id": str(patient_id)},
        )


def _panel_numbers_of(data: PatientData) -> PanelNumbers:
    pain = data.daily("pain_worse")
    t = data.today
    cur = pain.period(t - 6 * DAY, t)
    before = pain.period(t - 34 * DAY, t - 28 * DAY)
    change = (
        cur.mean - before.mean
        if cur.n >= 3 and before.n >= 3 and cur.mean is not None and before.mean is not None
        else None
    )
    weeks = [data.weeks(p) for p in data.plans]
    return PanelNumbers(
        pain_mean_7d=cur.mean,
        pain_change_28d=change,
        pain_slope_per_week=an.slope_per_week(pain.restrict(t - 27 * DAY, t)),
        adherence_4w=an.combined_adherence(weeks),
        flags=evaluate(data),
    )
