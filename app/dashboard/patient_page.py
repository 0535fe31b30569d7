"""A patient's page: charts and plain-words summaries from the trend engine's use cases
(called directly, never over HTTP)."""

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
from app.dashboard.service import PERIODS, FlagView, Window, flag_views, window
from app.dashboard.views import (
    ACTIVITY_LABELS,
    MetricView,
    ResponseView,
    exercise_chart,
    koos_view,
    metric_view,
    response_view,
)
from app.trends import effect, flag_review, measure, overview
from app.trends.schemas import PlanAdherenceOut, TrendOut


@dataclass(frozen=True)
class PatientPage:
    patient_id: uuid.UUID
    display_name: str
    timezone: str
    index_knee: str | None
    window: Window
    flags: list[FlagView]
    symptoms: list[MetricView]
    rom: list[MetricView]
    exercise: ch.Chart
    exercise_table: list[tuple[dt.date, str, int]]
    plans: list[PlanAdherenceOut]
    adherence_4w: float | None
    falls: list[tuple[dt.date, str]]
    koos: MetricView
    response: ResponseView | None

    @property
    def urgent(self) -> list[FlagView]:
        return [f for f in self.flags if f.severity == "urgent"]


def _trend(
    session: Session, patient: Patient, now: dt.datetime, w: Window, metric: str
) -> TrendOut:
    return measure.metric_trend(
        session,
        patient,
        now,
        metric=metric,
        knee=w.knee,
        bucket="day",
        date_from=w.start,
        date_to=w.end,
        baseline="auto",
        baseline_from=None,
        baseline_to=None,
    )


def _symptom_views(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    w: Window,
    fall_events: list[tuple[dt.date, str, str]],
) -> tuple[list[MetricView], list[MetricView]]:
    """The symptom charts (pain, stiffness, swelling) and the range-of-motion charts."""
    symptoms = [
        metric_view(
            _trend(session, patient, now, w, m),
            w,
            title=title,
            unit="",
            y_range=rng,
            events=fall_events,
            wide=m == "pain",
        )
        for m, title, rng in (
            ("pain", "Pain (0–10)", (0.0, 10.0)),
            ("stiffness", "Stiffness (0–10)", (0.0, 10.0)),
            ("swelling", "Swelling (0 none – 3 severe)", (0.0, 3.0)),
        )
    ]
    rom = []
    for m, title in (
        ("flexion", "Flexion (degrees)"),
        ("extension", "Extension (degrees; 0 = straight)"),
    ):
        t = _trend(session, patient, now, w, m)
        # For range of motion the trend's threshold is the method's measurement error.
        rom.append(
            metric_view(t, w, title=title, unit="°", y_range=None, events=[], band=t.thresholds.mdc)
        )
    return symptoms, rom


def _response(
    session: Session,
    patient: Patient,
    now: dt.datetime,
    w: Window,
    plans: Sequence[PlanAdherenceOut],
    exercise: Sequence[Any],
) -> ResponseView | None:
    """The exercise response for the plan's activity (else the most practised one)."""
    adherence_plans = plans
    activity = next(
        (p.activity for p in reversed(adherence_plans)),
        max(
            {e.activity for e in exercise},
            key=lambda a: sum(e.sessions for e in exercise if e.activity == a),
            default=None,
        ),
    )
    response = None
    if activity is not None:
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
        response = response_view(r, w.knee)
    return response


def patient_page(
    session: Session, actor: Actor, patient: Patient, *, now: dt.datetime, period: str, knee: str
) -> PatientPage:
    profile = care_service.get_profile(session, actor, patient)
    w = window(patient, now, period, knee)
    days = PERIODS[period][0]
    data = overview.load_patients(session, [patient], now, since_days=days)[patient.id]
    # The episodes that reach into the period, as stored (open ones first).
    stored = flag_review.list_flags(session, patient, since=w.start).items
    flags = flag_views([f.model_dump() for f in stored])
    adherence = overview.adherence_out(data)
    exercise = [e for e in data.exercise if w.start <= e.day <= w.end]
    falls = sorted(
        [(e.day, "Fall") for e in exercise if e.falls]
        + [(e.day, "Near fall") for e in exercise if e.near_falls and not e.falls]
    )
    events = [(d, label, "fall" if label == "Fall" else "near") for d, label in falls]
    fall_events = [e for e in events if e[2] == "fall"]
    symptoms, rom = _symptom_views(session, patient, now, w, fall_events)
    # KOOS-JR is completed every few weeks: show the last year at least, whatever the period.
    koos_window = Window(period, knee, min(w.start, w.end - dt.timedelta(days=364)), w.end)
    koos = koos_view(_trend(session, patient, now, koos_window, "koos_jr"), koos_window)
    response = _response(session, patient, now, w, adherence.plans, exercise)
    return PatientPage(
        patient_id=patient.id,
        display_name=profile.display_name,
        timezone=patient.timezone,
        index_knee=patient.index_knee,
        window=w,
        flags=flags,
        symptoms=symptoms,
        rom=rom,
        exercise=exercise_chart(w, exercise, adherence.plans, events),
        exercise_table=[
            (e.day, ACTIVITY_LABELS.get(e.activity, e.activity), e.minutes) for e in exercise
        ],
        plans=adherence.plans,
        adherence_4w=adherence.adherence_4w,
        falls=falls,
        koos=koos,
        response=response,
    )
