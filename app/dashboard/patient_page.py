"""A patient's page: charts and plain-words summaries from the trend engine's use cases
(called directly, never over HTTP) and the rest of the record (`record_views`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.auth.dependencies import Actor
from app.care import service as care_service
from app.care.models import Patient
from app.dashboard import charts as ch
from app.dashboard import record_views as rv
from app.dashboard.knee_charts import Event, KneeTrend, MetricView, knee_view
from app.dashboard.period import Window
from app.dashboard.service import FlagView, flag_views
from app.dashboard.views import (
    ACTIVITY_LABELS,
    ResponseView,
    exercise_chart,
    koos_view,
    response_view,
    summary,
)
from app.trends import effect, flag_review, measure, overview, windows
from app.trends.schemas import PlanAdherenceOut, TrendOut

SYMPTOMS = (
    ("pain", "Pain (0–10)", (0.0, 10.0), ""),
    ("stiffness", "Stiffness (0–10)", (0.0, 10.0), ""),
    ("swelling", "Swelling (0 none – 3 severe)", (0.0, 3.0), ""),
)
ROM = (
    ("flexion", "Flexion (degrees)", None, "°"),
    ("extension", "Extension deficit (° short of straight; 0 = straight)", None, "°"),
)
FUNCTION_TESTS = (
    ("chair_stand_30s", "30-second chair stand", " stands"),
    ("tug", "Timed Up and Go", " s"),
    ("fast_walk_40m", "40 m fast-paced walk", " s"),
)


@dataclass(frozen=True)
class FunctionTestView:
    title: str
    summary: str
    results: list[tuple[dt.date, str]]


@dataclass(frozen=True)
class PatientPage:
    patient_id: uuid.UUID
    display_name: str
    timezone: str
    index_knee: str | None
    sex: str | None
    birth_year: int | None
    window: Window
    flags: list[FlagView]
    symptoms: list[MetricView]
    rom: list[MetricView]
    exercise: ch.Chart
    exercise_table: list[tuple[dt.date, str, int]]
    plans: list[PlanAdherenceOut]
    adherence_4w: float | None
    sessions: list[rv.SessionRow]
    falls: list[Event]
    treatments: list[rv.TreatmentRow]
    session_pain: ch.Chart
    session_pain_summary: str
    koos: MetricView
    koos_subscales: list[rv.KoosRow]
    koos_changes: list[str]
    function_tests: list[FunctionTestView]
    notes: list[rv.NoteRow]
    response: ResponseView | None
    today: dt.date

    @property
    def urgent(self) -> list[FlagView]:
        return [f for f in self.flags if f.severity == "urgent" and f.status == "open"]

    @property
    def age(self) -> str:
        """From the birth year alone: the age this year, or one less before the birthday."""
        if self.birth_year is None:
            return "age not recorded"
        years = self.today.year - self.birth_year
        return f"{years - 1}–{years} years (born {self.birth_year})"


def _trend(
    session: Session, patient: Patient, now: dt.datetime, w: Window, metric: str, knee: str
) -> TrendOut:
    return measure.metric_trend(
        session,
        patient,
        now,
        metric=metric,
        knee=knee,
        bucket="day",
        date_from=w.start,
        date_to=w.end,
        baseline="auto",
        baseline_from=None,
        baseline_to=None,
    )


def _knee_views(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    w: Window,
    specs: Sequence[tuple[str, str, tuple[float, float] | None, str]],
    events: Sequence[Event],
) -> list[MetricView]:
    """Each measure with both knees on its chart; the first (pain, or flexion) wide and with
    every event marked, the others with the falls and treatments."""
    views = []
    for n, (metric, title, y_range, unit) in enumerate(specs):
        knees = {k: _trend(session, patient, now, w, metric, k) for k in ("left", "right")}
        judged = knees.get(w.knee) or _trend(session, patient, now, w, metric, w.knee)
        shown = [
            KneeTrend(k, t, k == patient.index_knee, no_index=patient.index_knee is None)
            for k, t in knees.items()
            if t.points
        ]
        first = n == 0 and metric == "pain"
        marked = events if first else [e for e in events if e.css != "session"]
        views.append(
            knee_view(
                judged,
                shown,
                w,
                title=title,
                unit=unit,
                y_range=y_range,
                summary=f"{_judged_knee(judged, patient)}: {summary(judged, unit)}",
                events=marked,
                wide=first,
            )
        )
    return views


def _judged_knee(t: TrendOut, patient: Patient) -> str:
    knee = t.knee or "worse"
    name = f"{knee.capitalize()} knee"
    return f"{name} (index)" if knee == patient.index_knee else name


def _response(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    w: Window,
    plans: Sequence[PlanAdherenceOut],
    exercise: Sequence[Any],
) -> ResponseView | None:
    """The exercise response for the plan's activity (else the most practised one)."""
    activity = next(
        (p.activity for p in reversed(plans)),
        max(
            {e.activity for e in exercise},
            key=lambda a: sum(e.sessions for e in exercise if e.activity == a),
            default=None,
        ),
    )
    if activity is None:
        return None
    r = effect.exercise_response(
        session,
        patient,
        now,
        activity=activity,
        metric="pain",
        knee=w.knee,
        lag_days=1,
        date_from=w.start,
        date_to=w.end,
    )
    return response_view(r, w.knee)


def _function_tests(
    session: Session, patient: Patient, now: dt.datetime, w: Window
) -> list[FunctionTestView]:
    out = []
    for metric, title, unit in FUNCTION_TESTS:
        t = _trend(session, patient, now, w, metric, "worse")
        if t.points:
            results = [(p.period_start, f"{ch.fmt(p.mean)}{unit}") for p in t.points]
            out.append(FunctionTestView(title, summary(t, unit), results))
    return out


def _long_window(w: Window) -> Window:
    """Questionnaires and function tests come every few weeks: at least the last year."""
    return Window(w.period, w.knee, min(w.start, w.end - dt.timedelta(days=364)), w.end, w.asked)


def patient_page(
    session: Session, actor: Actor, patient: Patient, *, now: dt.datetime, w: Window
) -> PatientPage:
    profile = care_service.get_profile(session, actor, patient)
    today = windows.today_for(patient, now)
    since_days = max((today - w.start).days + 1, 28)
    data = overview.load_patients(session, [patient], now, since_days=since_days)[patient.id]
    # The episodes that reach into the period, as stored (open ones first).
    stored = flag_review.list_flags(session, patient, since=w.start).items
    flags = [f for f in flag_views([f.model_dump() for f in stored]) if _within(f, w)]
    adherence = overview.adherence_out(data)
    exercise = [e for e in data.exercise if w.start <= e.day <= w.end]
    done = rv.sessions(session, patient.id, w)
    treated = rv.treatments(session, patient.id, w)
    events = rv.events(done, rv.daily_life_falls(session, patient.id, w), treated)
    bar_events = [(e.day, e.label, e.css) for e in events if e.css in ("fall", "near")]
    long = _long_window(w)
    koos_rows, koos_changes = rv.koos_subscales(session, patient.id, long.start, long.end)
    pain_chart, pain_words = rv.session_pain_chart(w, done)
    return PatientPage(
        patient_id=patient.id,
        display_name=profile.display_name,
        timezone=patient.timezone,
        index_knee=patient.index_knee,
        sex=patient.sex,
        birth_year=patient.birth_year,
        window=w,
        flags=flags,
        symptoms=_knee_views(session, patient, now, w, SYMPTOMS, events),
        rom=_knee_views(session, patient, now, w, ROM, events),
        exercise=exercise_chart(w, exercise, adherence.plans, bar_events),
        exercise_table=[
            (e.day, ACTIVITY_LABELS.get(e.activity, e.activity), e.minutes) for e in exercise
        ],
        plans=adherence.plans,
        adherence_4w=adherence.adherence_4w,
        sessions=done,
        falls=[e for e in events if e.css in ("fall", "near")],
        treatments=treated,
        session_pain=pain_chart,
        session_pain_summary=pain_words,
        koos=koos_view(_trend(session, patient, now, long, "koos_jr", "worse"), long),
        koos_subscales=koos_rows,
        koos_changes=koos_changes,
        function_tests=_function_tests(session, patient, now, long),
        notes=rv.notes(session, patient.id),
        response=_response(session, patient, now, w, adherence.plans, exercise),
        today=today,
    )


def _within(f: FlagView, w: Window) -> bool:
    """An episode that reaches into the period (`since` bounds its end; this its start)."""
    return f.first_date is None or f.first_date <= w.end
