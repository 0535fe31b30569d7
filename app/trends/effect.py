"""Does the exercise help? The adjusted exercise response and pain around sessions."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from app.care.models import Patient
from app.clinical import THRESHOLDS, threshold
from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends import exercise_queries
from app.trends import queries as q
from app.trends.measure import exercise_rows, period_out
from app.trends.metrics import METRICS
from app.trends.schemas import (
    BeforeAfterOut,
    DescriptiveOut,
    ExerciseResponseOut,
    GroupOut,
    OverLimitOut,
    SessionPainItem,
    SessionPainOut,
)
from app.trends.windows import DAY, Range, resolve_knee, resolve_window, today_for


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
            for p in reversed(exercise_queries.plans(session, [patient.id]).get(patient.id, []))
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
    for e in exercise_rows(session, fetch):
        did.setdefault(e.day, set()).add(e.activity)
    active_days = {d for d, acts in did.items() if activity in acts}
    model = an.exercise_response(series, active_days, window.start, window.end, lag_days)
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
        descriptive=_descriptive(series, did, window, activity=activity, lag_days=lag_days),
        before_after=_before_after(series, plan, window.end) if plan is not None else None,
    )


def _descriptive(
    series: dict[dt.date, float],
    did: dict[dt.date, set[str]],
    window: Range,
    *,
    activity: str,
    lag_days: int,
) -> DescriptiveOut:
    """The raw means `lag_days` after the activity and after a day without any exercise."""
    after_act, after_rest = [], []
    for d, v in sorted(an.restrict(series, window.start, window.end).items()):
        acts = did.get(d - lag_days * DAY, set())
        if activity in acts:
            after_act.append(v)
        elif not acts:
            after_rest.append(v)
    ma, mr = an.mean(after_act), an.mean(after_rest)
    return DescriptiveOut(
        after_activity=GroupOut(n=len(after_act), mean=ma),
        after_rest=GroupOut(n=len(after_rest), mean=mr),
        difference=(ma - mr) if ma is not None and mr is not None else None,
    )


def _before_after(series: dict[dt.date, float], plan: adh.PlanInfo, end: dt.date) -> BeforeAfterOut:
    """The two weeks before the plan's start against the window's last two weeks
    (uncontrolled: anything else that changed is in the difference too)."""
    before = an.period(series, plan.start_date - 14 * DAY, plan.start_date - DAY)
    after = an.period(series, end - 13 * DAY, end)
    return BeforeAfterOut(
        plan_id=plan.id,
        plan_start=plan.start_date,
        before=period_out(before),
        after=period_out(after),
        change=(after.mean - before.mean)
        if after.mean is not None and before.mean is not None
        else None,
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
    sessions = exercise_queries.session_pains(
        session, patient.id, window.start, window.end, activity
    )
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
